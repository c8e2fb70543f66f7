package dev.membrane.onnx.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.scheduler.Scheduler;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.onnx.graph.WeightStore;
import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.AdapterSites;
import dev.membrane.testing.SharedReference;

class ReferenceModelTest {
    @TempDir
    Path tmp;

    /** Structure only: parameter bytes are dropped. */
    private static WeightStore discard() {
        return new WeightStore() {
            @Override
            public void place(TensorProto.Builder tensor, ByteBuffer littleEndian) {
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void sd15UNetHasExactlyTheOfficialSpmSitesAndShapes() throws Exception {
        Path tsv = SharedReference.require("spm/sd1x-spm-keys.tsv");
        Map<String, String> expected = new LinkedHashMap<>();
        for (String line : Files.readAllLines(tsv)) {
            if (line.startsWith("#") || line.isBlank()) continue;
            String[] f = line.split("\t");
            expected.put(f[0], f[1] + " " + f[2]);
        }
        assertEquals(192, expected.size());
        ModelProto unet = ReferenceModelBuilder.unetModel(ReferenceModelBuilder.Options.of(ReferencePreset.SD15), discard());
        List<AdapterSite> sites = AdapterSites.find(unet.getGraph());
        Map<String, String> actual = new LinkedHashMap<>();
        for (AdapterSite s : sites) actual.put(s.key(), Arrays.toString(s.downShape(1)) + " " + Arrays.toString(s.upShape(1)));
        assertEquals(expected, actual);
    }

    @Test
    void tinyUNetHasTheSameSitesAndExporterNames() {
        ModelProto unet = ReferenceModelBuilder.unetModel(ReferenceModelBuilder.Options.of(ReferencePreset.TINY), discard());
        List<AdapterSite> sites = AdapterSites.find(unet.getGraph());
        assertEquals(192, sites.size());
        assertEquals(16, sites.stream().map(s -> s.module().replaceAll("\\.(proj_in|proj_out|transformer_blocks.*)$", ""))
                .distinct().count());
        AdapterSite toK = sites.stream().filter(s -> s.module().equals("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"))
                .findFirst().orElseThrow();
        assertEquals("/down_blocks.0/attentions.0/transformer_blocks.0/attn2/to_k/MatMul", toK.nodeName());
        assertTrue(toK.weightName().startsWith("onnx::MatMul_"), toK.weightName());
        assertEquals(ReferencePreset.TINY.textWidth(), toK.in());
        // a Linear with bias keeps the bias's parameter name on its Add
        NodeProto add = unet.getGraph().getNodeList().stream()
                .filter(n -> n.getName().equals("/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_out.0/Add"))
                .findFirst().orElseThrow();
        assertEquals("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.bias", add.getInput(0));
    }

    @Test
    void sameOptionsGiveSameBytes(@TempDir Path dir) throws Exception {
        ReferenceModelBuilder.Options options = ReferenceModelBuilder.Options.of(ReferencePreset.TINY);
        ReferenceModelBuilder.build(dir.resolve("a"), options);
        ReferenceModelBuilder.build(dir.resolve("b"), options);
        Map<Path, byte[]> a = contents(dir.resolve("a"));
        Map<Path, byte[]> b = contents(dir.resolve("b"));
        assertEquals(a.keySet(), b.keySet());
        assertTrue(a.keySet().containsAll(List.of(Path.of("model_index.json"), Path.of("scheduler/scheduler_config.json"),
                Path.of("tokenizer/vocab.json"), Path.of("tokenizer/merges.txt"), Path.of("text_encoder/model.onnx"),
                Path.of("unet/model.onnx"), Path.of("vae_decoder/model.onnx"))), a.keySet().toString());
        for (Path p : a.keySet()) assertArrayEquals(a.get(p), b.get(p), p.toString());
        ReferenceModelBuilder.build(dir.resolve("c"), new ReferenceModelBuilder.Options(ReferencePreset.TINY, null,
                ReferenceModelBuilder.UNetWeights.AUTO, options.io(), 7L));
        assertFalse(Arrays.equals(a.get(Path.of("unet/model.onnx")), contents(dir.resolve("c")).get(Path.of("unet/model.onnx"))),
                "another seed must give other weights");
    }

    private static Map<Path, byte[]> contents(Path root) throws Exception {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(Files::isRegularFile).collect(Collectors.toMap(root::relativize, p -> {
                try {
                    return Files.readAllBytes(p);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
    }

    @Test
    void shapesPresetSamplesWithEulerOverSd1xSchedule() throws Exception {
        Path out = tmp.resolve("shapes");
        ReferenceModelBuilder.build(out, ReferenceModelBuilder.Options.of(ReferencePreset.SHAPES));
        SchedulerConfig written = SchedulerConfig.load(out.resolve("scheduler/scheduler_config.json"));
        assertEquals(SchedulerKind.EULER, SchedulerKind.ofConfig(written));
        assertTrue(Files.readString(out.resolve("model_index.json")).contains("EulerDiscreteScheduler"));
        // the same sampler as --scheduler euler over SD 1.x's own PNDM configuration: same schedule, spacing, offset
        Scheduler fromShapes = SchedulerKind.EULER.create(written, 30);
        Scheduler fromSd15 = SchedulerKind.EULER.create(SchedulerConfig.sd15Default(), 30);
        assertArrayEquals(fromSd15.timesteps(), fromShapes.timesteps());
        assertEquals(fromSd15.initNoiseSigma(), fromShapes.initNoiseSigma());
        float[] a = {1f, -0.5f, 0.25f, 2f};
        float[] b = a.clone();
        float[] eps = {0.3f, 0.1f, -0.2f, 0.05f};
        for (int i = 0; i < 30; i++) {
            a = fromShapes.step(eps, i, a);
            b = fromSd15.step(eps, i, b);
        }
        assertArrayEquals(b, a);
        // the other presets keep SD 1.x's PNDM
        Path tiny = tmp.resolve("tiny");
        ReferenceModelBuilder.build(tiny, ReferenceModelBuilder.Options.of(ReferencePreset.TINY));
        assertEquals(SchedulerKind.PNDM, SchedulerKind.ofConfig(SchedulerConfig.load(tiny.resolve("scheduler/scheduler_config.json"))));
    }
}
