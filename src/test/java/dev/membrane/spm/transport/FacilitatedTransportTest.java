package dev.membrane.spm.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.SpmModule;
import dev.membrane.testing.TinyModel;

class FacilitatedTransportTest {
    private static StableDiffusionPipeline pipeline;

    @BeforeAll
    static void open() {
        pipeline = StableDiffusionPipeline.open(TinyModel.dir(), TinyModel.runtime());
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    @Test
    void cosineAndOverlapByHand() {
        // (1, 2, 2)·(2, 0, 1) = 4; |a| = 3, |b| = sqrt(5)
        assertEquals(4 / (3 * Math.sqrt(5)), FacilitatedTransport.cosine(new float[] {1, 2, 2}, new float[] {2, 0, 1}), 1e-12);
        assertEquals(-1.0, FacilitatedTransport.cosine(new float[] {1, -1}, new float[] {-2, 2}), 1e-12);
        // concept {10, 11, 12}; prompt shares 10 and 12 → 2/3
        assertEquals(2 / 3.0, FacilitatedTransport.overlap(Set.of(10, 12, 99), Set.of(10, 11, 12)), 1e-12);
        assertEquals(0.0, FacilitatedTransport.overlap(Set.of(1), Set.of()), 0);
    }

    /** A one-module adapter whose only meaning here is its target prompts. */
    private static SpmFile adapter(Path dir, String name, List<String> prompts) {
        AdapterSite site = new AdapterSite("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k",
                "mid_block.attentions.0.transformer_blocks.0.attn2.to_k", AdapterSite.Kind.MATMUL, "n", "w", 2, 2);
        SpmFile.write(dir.resolve(name), prompts, List.of(site), List.of(new SpmModule(site.key(), new float[] {1, 0}, new float[] {0, 1}, 1, 2, 2, 1f)));
        return SpmFile.read(dir.resolve(name));
    }

    /** γ from the model's own embeddings and ids, recomputed independently here. */
    @Test
    void gammaEqualsHandComputedMaxOverTargetsAndScores(@TempDir Path dir) {
        PromptEncoder enc = pipeline.promptEncoder();
        FacilitatedTransport ft = new FacilitatedTransport(enc);
        SpmFile spm = adapter(dir, "a.safetensors", List.of("mickey mouse", "cartoon mouse"));
        String prompt = "a photo of a mouse";
        int[] ids = enc.tokenize(List.of(prompt))[0];
        float[] e = enc.encode(List.of(prompt)).row(0);

        TextEmbeddings targets = enc.encode(List.of("mickey mouse", "cartoon mouse"));
        int[][] targetIds = enc.tokenize(List.of("mickey mouse", "cartoon mouse"));
        double sf = Math.max(FacilitatedTransport.cosine(e, targets.row(0)), FacilitatedTransport.cosine(e, targets.row(1)));
        Set<Integer> p = ft.contentTokens(ids);
        double st = Math.max(FacilitatedTransport.overlap(p, ft.contentTokens(targetIds[0])),
                FacilitatedTransport.overlap(p, ft.contentTokens(targetIds[1])));
        assertEquals(0.5, st, 1e-12, "'mouse' is one of two content tokens of each target");

        TransportScore score = ft.score(spm, Transport.facilitated(2.0), e, ids);
        assertEquals(sf, score.sf(), 1e-9);
        assertEquals(st, score.st(), 1e-12);
        assertEquals(2.0 * Math.max(sf, st), score.gamma(), 1e-9);

        TransportScore exact = ft.score(spm, Transport.facilitated(1.0), enc.encode(List.of("mickey mouse")).row(0),
                enc.tokenize(List.of("mickey mouse"))[0]);
        assertEquals(1.0, exact.st(), 1e-12);
        assertEquals(1.0, exact.sf(), 1e-6);
        assertEquals(1.0, exact.gamma(), 1e-6);
    }

    @Test
    void fixedBypassesTransportAndMinimumFloorsIt(@TempDir Path dir) {
        PromptEncoder enc = pipeline.promptEncoder();
        FacilitatedTransport ft = new FacilitatedTransport(enc);
        SpmFile spm = adapter(dir, "n.safetensors", List.of("nudity"));
        float[] e = enc.encode(List.of("a bowl of fruit")).row(0);
        int[] ids = enc.tokenize(List.of("a bowl of fruit"))[0];
        TransportScore fixed = ft.score(spm, Transport.fixed(2.0), e, ids);
        assertEquals(2.0, fixed.gamma());
        assertTrue(Double.isNaN(fixed.sf()));
        TransportScore floored = ft.score(spm, Transport.facilitated(1.0).withMinimum(1.5), e, ids);
        assertEquals(1.5, floored.gamma(), 1e-12);
        assertTrue(floored.sf() < 1.5);
    }
}
