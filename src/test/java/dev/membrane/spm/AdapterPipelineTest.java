package dev.membrane.spm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.spm.transport.Transport;
import dev.membrane.testing.TinyModel;

/** Whole generations with the reference adapters on the prepared tiny model. */
public class AdapterPipelineTest {
    @TempDir
    static Path dir;
    private static StableDiffusionPipeline base;
    private static StableDiffusionPipeline prepared;
    private static AdapterPipeline adapters;
    private static AdapterCatalog catalog;

    @BeforeAll
    static void open() {
        ModelFolder folder = ModelFolder.open(TinyModel.dir());
        Path preparedUnet = dir.resolve("model.spm.onnx");
        // prepared graphs live beside the UNet; this one is only read by this test, so a temp file will do
        UNetPreparer.prepare(folder.unet(), 4, preparedUnet);
        base = StableDiffusionPipeline.open(TinyModel.dir(), TinyModel.runtime());
        prepared = StableDiffusionPipeline.open(folder, preparedUnet, TinyModel.runtime());
        adapters = new AdapterPipeline(prepared);
        catalog = AdapterCatalog.load(Path.of("adapters/catalog.json"));
    }

    @AfterAll
    static void close() {
        base.close();
        prepared.close();
    }

    private static GenerationRequest request(ImageSpec... images) {
        return new GenerationRequest(List.of(images), 64, 64, 8, 7.5, SchedulerKind.DDIM);
    }

    private static AdapterPipeline.ImageStack stack(String id) {
        return new AdapterPipeline.ImageStack(List.of(new AdapterPipeline.AdapterRequest(catalog.loadVerified(id),
                catalog.get(id).transport())), StackingMode.LINEAR);
    }

    public static int maxDiff(byte[] a, byte[] b) throws Exception {
        BufferedImage x = ImageIO.read(new ByteArrayInputStream(a));
        BufferedImage y = ImageIO.read(new ByteArrayInputStream(b));
        int max = 0;
        for (int j = 0; j < x.getHeight(); j++)
            for (int i = 0; i < x.getWidth(); i++)
                for (int s = 0; s < 24; s += 8) max = Math.max(max, Math.abs(((x.getRGB(i, j) >> s) & 0xFF) - ((y.getRGB(i, j) >> s) & 0xFF)));
        return max;
    }

    @Test
    void emptyStacksOnThePreparedUNetGiveTheBaseImage() throws Exception {
        ImageSpec cat = new ImageSpec("a photo of a cat", "", 3);
        byte[] plain = base.generate(request(cat)).images().get(0).png();
        byte[] empty = adapters.generate(request(cat), List.of(AdapterPipeline.ImageStack.none())).generation().images().get(0).png();
        assertTrue(maxDiff(plain, empty) <= 1, "diff " + maxDiff(plain, empty));
    }

    @Test
    void adapterChangesItsConceptAndReportsTransport() throws Exception {
        ImageSpec snoopy = new ImageSpec("graffiti of the snoopy", "", 9);
        byte[] plain = base.generate(request(snoopy)).images().get(0).png();
        AdapterPipeline.Result r = adapters.generate(request(snoopy), List.of(stack("snoopy")));
        assertTrue(maxDiff(plain, r.generation().images().get(0).png()) > 8, "the snoopy SPM must change a snoopy image");
        AdapterPipeline.Applied applied = r.applied().get(0).get(0);
        assertEquals(1.0, applied.score().st(), 1e-12, "'snoopy' is the concept's only token and it is in the prompt");
        assertEquals(1.0 * Math.max(applied.score().sf(), applied.score().st()), applied.score().gamma(), 1e-12);
    }

    /**
     * Under official stacking the transport's γ multiplies both factors, so a fixed γ and a facilitated factor are
     * squared: one adapter at γ = 2 (fixed, or factor 2 on a prompt with s_t = 1) gives the image linear stacking
     * gives at γ = 4, not at γ = 2.
     */
    @Test
    void officialStackingSquaresFixedGammaAndTransportFactor() throws Exception {
        ImageSpec snoopy = new ImageSpec("graffiti of the snoopy", "", 9);
        SpmFile spm = catalog.loadVerified("snoopy");
        java.util.function.BiFunction<Transport, StackingMode, AdapterPipeline.ImageStack> one =
                (t, m) -> new AdapterPipeline.ImageStack(List.of(new AdapterPipeline.AdapterRequest(spm, t)), m);
        AdapterPipeline.Result r = adapters.generate(request(snoopy, snoopy, snoopy, snoopy), List.of(
                one.apply(Transport.fixed(2.0), StackingMode.OFFICIAL),
                one.apply(Transport.facilitated(2.0), StackingMode.OFFICIAL),
                one.apply(Transport.fixed(4.0), StackingMode.LINEAR),
                one.apply(Transport.fixed(2.0), StackingMode.LINEAR)));
        assertEquals(2.0, r.applied().get(1).get(0).score().gamma(), 1e-12, "factor 2 · s_t 1");
        byte[] officialFixed = r.generation().images().get(0).png();
        byte[] officialFacilitated = r.generation().images().get(1).png();
        byte[] linearSquared = r.generation().images().get(2).png();
        byte[] linearSame = r.generation().images().get(3).png();
        assertTrue(maxDiff(officialFixed, linearSquared) <= 2, "official γ=2 vs linear γ=4: " + maxDiff(officialFixed, linearSquared));
        assertTrue(maxDiff(officialFacilitated, linearSquared) <= 2, "official factor 2 vs linear γ=4: " + maxDiff(officialFacilitated, linearSquared));
        assertTrue(maxDiff(officialFixed, linearSame) > 8, "official γ=2 must not be linear γ=2");
    }

    @Test
    void twoPoliciesInOneBatchEqualEachAlone() throws Exception {
        ImageSpec a = new ImageSpec("graffiti of the snoopy", "", 21);
        ImageSpec b = new ImageSpec("nudity, a portrait of a woman", "blurry", 22);
        AdapterPipeline.ImageStack tenantA = stack("snoopy");
        AdapterPipeline.ImageStack tenantB = new AdapterPipeline.ImageStack(List.of(
                new AdapterPipeline.AdapterRequest(catalog.loadVerified("nudity"), Transport.fixed(2.0)),
                new AdapterPipeline.AdapterRequest(catalog.loadVerified("van-gogh"), Transport.facilitated(2.0))), StackingMode.OFFICIAL);
        AdapterPipeline.Result both = adapters.generate(request(a, b), List.of(tenantA, tenantB));
        AdapterPipeline.Result aloneA = adapters.generate(request(a), List.of(tenantA));
        AdapterPipeline.Result aloneB = adapters.generate(request(b), List.of(tenantB));
        assertTrue(maxDiff(both.generation().images().get(0).png(), aloneA.generation().images().get(0).png()) <= 2);
        assertTrue(maxDiff(both.generation().images().get(1).png(), aloneB.generation().images().get(0).png()) <= 2);
        assertEquals(2.0, both.applied().get(1).get(0).score().gamma());
        assertEquals(aloneB.applied().get(0).get(1).score().gamma(), both.applied().get(1).get(1).score().gamma(), 1e-9);
    }
}
