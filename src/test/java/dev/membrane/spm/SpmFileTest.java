package dev.membrane.spm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.platform.Fp16Conversions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.spm.safetensors.SafeTensors;
import dev.membrane.spm.safetensors.Tensor;
import dev.membrane.testing.SharedReference;

class SpmFileTest {
    private static final AdapterSite LINEAR = new AdapterSite("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k",
            "mid_block.attentions.0.transformer_blocks.0.attn2.to_k", AdapterSite.Kind.MATMUL, "n1", "w1", 3, 2);
    private static final AdapterSite CONV = new AdapterSite("lora_unet_mid_block_attentions_0_proj_in",
            "mid_block.attentions.0.proj_in", AdapterSite.Kind.CONV, "n2", "w2", 2, 2);

    private static byte[] official(Map<String, Tensor> tensors, Map<String, String> metadata) {
        return SafeTensors.serialize(metadata, tensors);
    }

    private static Map<String, Tensor> validTensors() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(LINEAR.key() + ".lora_down.weight", Tensor.f32(new float[] {1, 2, 3}, 1, 3));
        t.put(LINEAR.key() + ".lora_up.weight", Tensor.f32(new float[] {4, 5}, 2, 1));
        t.put(LINEAR.key() + ".alpha", Tensor.scalar(1));
        t.put(CONV.key() + ".lora_down.weight", Tensor.f32(new float[] {1, 1}, 1, 2, 1, 1));
        t.put(CONV.key() + ".lora_up.weight", Tensor.f32(new float[] {2, 2}, 2, 1, 1, 1));
        t.put(CONV.key() + ".alpha", Tensor.scalar(1));
        return t;
    }

    private static final Map<String, String> META = Map.of("prompts", "snoopy, peanuts dog", "rank", "1", "alpha", "1.0");

    @Test
    void readsTheOfficialLayout() {
        SpmFile f = SpmFile.parse("x", official(validTensors(), META));
        assertEquals(List.of("snoopy", "peanuts dog"), f.prompts());
        assertEquals(1, f.rank());
        assertEquals(1f, f.alpha());
        assertEquals("f32", f.dtype());
        assertEquals(2, f.modules().size());
        SpmModule conv = f.modules().get(CONV.key());
        assertEquals(2, conv.in());
        assertEquals(2, conv.out());
        SpmFile.SiteMatch m = f.match(List.of(LINEAR, CONV));
        assertEquals(2, m.matched().size());
        assertEquals(64, f.sha256().length());
    }

    @Test
    void acceptsSubsetsAndNamesUnmatchedSites() {
        Map<String, Tensor> t = validTensors();
        t.keySet().removeIf(k -> k.startsWith(CONV.key()));
        SpmFile.SiteMatch m = SpmFile.parse("x", official(t, META)).match(List.of(LINEAR, CONV));
        assertEquals(List.of(LINEAR), m.matched());
        assertEquals(List.of(CONV), m.unmatched());
    }

    @Test
    void refusesUnknownKeysWrongShapesAndMissingMetadata() {
        Map<String, Tensor> unknown = validTensors();
        unknown.put("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", Tensor.f32(new float[] {1}, 1, 1));
        MembraneException e1 = assertThrows(MembraneException.class, () -> SpmFile.parse("f", official(unknown, META)));
        assertTrue(e1.getMessage().contains("lora_te_text_model_encoder_layers_0_mlp_fc1"), e1.getMessage());

        Map<String, Tensor> notInUNet = validTensors();
        notInUNet.put("lora_unet_mid_block_attentions_9_proj_out.lora_down.weight", Tensor.f32(new float[] {1, 1}, 1, 2));
        notInUNet.put("lora_unet_mid_block_attentions_9_proj_out.lora_up.weight", Tensor.f32(new float[] {1, 1}, 2, 1));
        notInUNet.put("lora_unet_mid_block_attentions_9_proj_out.alpha", Tensor.scalar(1));
        SpmFile f = SpmFile.parse("f", official(notInUNet, META));
        MembraneException e2 = assertThrows(MembraneException.class, () -> f.match(List.of(LINEAR, CONV)));
        assertTrue(e2.getMessage().contains("key lora_unet_mid_block_attentions_9_proj_out addresses no SPM site"), e2.getMessage());

        Map<String, Tensor> wrongShape = validTensors();
        wrongShape.put(LINEAR.key() + ".lora_down.weight", Tensor.f32(new float[] {1, 2, 3, 4}, 1, 4));
        MembraneException e3 = assertThrows(MembraneException.class,
                () -> SpmFile.parse("f", official(wrongShape, META)).match(List.of(LINEAR, CONV)));
        assertTrue(e3.getMessage().contains(LINEAR.key()) && e3.getMessage().contains("2x4"), e3.getMessage());

        Map<String, Tensor> noUp = validTensors();
        noUp.remove(LINEAR.key() + ".lora_up.weight");
        MembraneException e4 = assertThrows(MembraneException.class, () -> SpmFile.parse("f", official(noUp, META)));
        assertTrue(e4.getMessage().contains(LINEAR.key()) && e4.getMessage().contains("lora_up"), e4.getMessage());

        MembraneException e5 = assertThrows(MembraneException.class, () -> SpmFile.parse("f", official(validTensors(), Map.of("rank", "1"))));
        assertTrue(e5.getMessage().contains("prompts"), e5.getMessage());
    }

    /** A rank-2 module (so that alpha = rank is visible: rank 1 would coincide with alpha 1), with or without .alpha. */
    private static Map<String, Tensor> rank2(Float alpha) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(LINEAR.key() + ".lora_down.weight", Tensor.f32(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        t.put(LINEAR.key() + ".lora_up.weight", Tensor.f32(new float[] {1, 0, 0, 1}, 2, 2));
        if (alpha != null) t.put(LINEAR.key() + ".alpha", Tensor.scalar(alpha));
        return t;
    }

    private static Map<String, String> meta(String alpha) {
        Map<String, String> m = new LinkedHashMap<>(Map.of("prompts", "snoopy", "rank", "2"));
        if (alpha != null) m.put("alpha", alpha);
        return m;
    }

    private static SpmFile written(Path dir, String name, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Path f = dir.resolve(name + ".safetensors");
        SafeTensors.write(f, metadata, tensors);
        return SpmFile.read(f);
    }

    /** The official SPMLayer and kohya: alpha 0 or none means alpha = rank (scale 1), never scale 0. */
    @Test
    void alphaZeroOrMissingMeansRank(@TempDir Path dir) {
        Map<String, SpmFile> cases = new LinkedHashMap<>();
        cases.put("alpha tensor 0, metadata alpha 0", written(dir, "zero", rank2(0f), meta("0")));
        cases.put("alpha tensor 0, metadata alpha 0.0", written(dir, "zero-float", rank2(0f), meta("0.0")));
        cases.put("alpha tensor 0, no metadata alpha", written(dir, "zero-tensor", rank2(0f), meta(null)));
        cases.put("no alpha tensor, no metadata alpha", written(dir, "none", rank2(null), meta(null)));
        cases.put("no alpha tensor, metadata alpha 0", written(dir, "none-zero", rank2(null), meta("0")));
        cases.put("no alpha tensor, metadata alpha None", written(dir, "none-python", rank2(null), meta("None")));
        cases.put("no alpha tensor, metadata alpha = rank", written(dir, "none-rank", rank2(null), meta("2.0")));
        cases.forEach((what, f) -> {
            SpmModule m = f.modules().get(LINEAR.key());
            assertEquals(2f, m.alpha(), what);
            assertEquals(1.0, m.scale(), what);
            assertEquals(2f, f.alpha(), what);
            assertTrue(f.uniform(), what);
        });
    }

    @Test
    void metadataAlphaMustAgreeWithTheTensors(@TempDir Path dir) {
        // the official inference scales by the metadata, other loaders by the tensors: a disagreement is refused
        MembraneException e1 = assertThrows(MembraneException.class, () -> written(dir, "a", rank2(1f), meta("4")));
        assertTrue(e1.getMessage().contains("metadata alpha 4") && e1.getMessage().contains("has alpha 1.0"), e1.getMessage());
        // metadata 0 means rank (2), which the tensor's 1 is not
        MembraneException e2 = assertThrows(MembraneException.class, () -> written(dir, "b", rank2(1f), meta("0")));
        assertTrue(e2.getMessage().contains("2.0 at rank 2"), e2.getMessage());
        // no tensor means rank (2), which the metadata's 4 is not
        assertThrows(MembraneException.class, () -> written(dir, "c", rank2(null), meta("4")));
        MembraneException e3 = assertThrows(MembraneException.class, () -> written(dir, "d", rank2(1f), meta("one")));
        assertTrue(e3.getMessage().contains("metadata alpha 'one' is not a number"), e3.getMessage());
        assertThrows(MembraneException.class, () -> written(dir, "e", rank2(Float.NaN), meta(null)));
        // a decimal that the tensor only approximates is the same alpha; the file's alpha is the metadata's
        SpmFile f = written(dir, "f", rank2(0.1f), meta("0.1"));
        assertEquals(0.1f, f.alpha());
        assertTrue(f.uniform());
    }

    @Test
    void damagedFilesNameTheByteOffset() {
        byte[] good = official(validTensors(), META);
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 5);
        MembraneException e1 = assertThrows(MembraneException.class, () -> SpmFile.parse("f.safetensors", truncated));
        assertTrue(e1.getMessage().matches("f\\.safetensors: damaged safetensors file at byte \\d+: tensor .* lies outside .*"), e1.getMessage());

        byte[] hugeHeader = good.clone();
        ByteBuffer.wrap(hugeHeader).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        MembraneException e2 = assertThrows(MembraneException.class, () -> SpmFile.parse("f", hugeHeader));
        assertTrue(e2.getMessage().contains("at byte 0"), e2.getMessage());

        byte[] badJson = good.clone();
        badJson[8] = 'x';
        MembraneException e3 = assertThrows(MembraneException.class, () -> SpmFile.parse("f", badJson));
        assertTrue(e3.getMessage().contains("at byte 8: header is not valid JSON"), e3.getMessage());
    }

    @Test
    void readsFloat16Files() {
        String header = "{\"__metadata__\":{\"prompts\":\"cat\"},"
                + "\"" + LINEAR.key() + ".alpha\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,2]},"
                + "\"" + LINEAR.key() + ".lora_down.weight\":{\"dtype\":\"F16\",\"shape\":[1,3],\"data_offsets\":[2,8]},"
                + "\"" + LINEAR.key() + ".lora_up.weight\":{\"dtype\":\"F16\",\"shape\":[2,1],\"data_offsets\":[8,12]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 12).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (float v : new float[] {1, 0.5f, -2, 0.25f, 3, 4}) b.putShort(Fp16Conversions.floatToFp16(v));
        SpmFile f = SpmFile.parse("half", b.array());
        assertEquals("f16", f.dtype());
        SpmModule m = f.modules().get(LINEAR.key());
        assertEquals(1f, m.alpha());
        assertEquals(-2f, m.down()[1]);
        assertEquals(4f, m.up()[1]);
    }

    /** A file with all 192 official keys and shapes at rank 1 matches every site of an SD 1.x UNet. */
    @Test
    void officialKeyListRoundTrips(@TempDir Path dir) throws Exception {
        Path tsv = SharedReference.require("spm/sd1x-spm-keys.tsv");
        List<AdapterSite> sites = new ArrayList<>();
        for (String line : Files.readAllLines(tsv)) {
            if (line.startsWith("#") || line.isBlank()) continue;
            String[] f = line.split("\t");
            long[] down = parse(f[1]);
            long[] up = parse(f[2]);
            sites.add(new AdapterSite(f[0], f[0], down.length == 4 ? AdapterSite.Kind.CONV : AdapterSite.Kind.MATMUL,
                    f[0], f[0], (int) down[1], (int) up[0]));
        }
        SpmFile f = RandomSpm.create(dir.resolve("all.safetensors"), sites, 1, 1f, 1, 1, "nudity");
        assertEquals(192, f.modules().size());
        assertEquals(192, f.match(sites).matched().size());
        // the file's own header carries the official shapes
        var contents = SafeTensors.read(dir.resolve("all.safetensors"));
        assertEquals(576, contents.tensors().size());
        assertEquals("[1, 320, 1, 1]", java.util.Arrays.toString(
                contents.tensors().get("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight").shape()));
        assertEquals("1", contents.metadata().get("rank"));
        assertEquals("nudity", contents.metadata().get("prompts"));
    }

    private static long[] parse(String shape) {
        return java.util.Arrays.stream(shape.replaceAll("[\\[\\] ]", "").split(",")).mapToLong(Long::parseLong).toArray();
    }
}
