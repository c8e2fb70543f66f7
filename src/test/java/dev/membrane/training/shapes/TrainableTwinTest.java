package dev.membrane.training.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.UNetModel;
import dev.membrane.diffusion.VaeDecoderModel;
import dev.membrane.onnx.graph.InitializerValues;
import dev.membrane.testing.Numeric;
import dev.membrane.testing.TinyModel;
import dev.membrane.training.TorchEngine;
import dev.membrane.training.twin.SiteAdapters;
import dev.membrane.training.twin.TwinParameter;
import dev.membrane.training.twin.UNetTwin;
import dev.membrane.training.twin.VaeDecoderTwin;

/**
 * Training a whole model on the twin and exporting it: the twin's parameters are the graph's weights, and values
 * written back under their initializer names make ONNX Runtime compute what the twin computes with them.
 */
class TrainableTwinTest {
    @TempDir
    static Path dir;
    private static NDManager manager;

    @BeforeAll
    static void engine() {
        TorchEngine.start(Path.of("target", "djl-cache"));
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static float[] gaussian(long seed, int n) {
        return Numeric.gaussian(seed, n, 1);
    }

    private static double relative(float[] actual, float[] expected) {
        return Numeric.relative(actual, expected);
    }

    /** Perturbs every parameter in place (as training would) and returns the values in the graph's layout. */
    private static Map<String, float[]> perturb(Iterable<TwinParameter> params, long seed) {
        Random r = new Random(seed);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (TwinParameter p : params) {
            float[] v = p.array().toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] += (float) (r.nextGaussian() * 0.05);
            p.array().set(v);
            out.put(p.initializer(), p.initializerValues());
        }
        return out;
    }

    @Test
    void unetParametersRewrittenIntoTheGraphComputeWhatTheTwinComputes() throws Exception {
        Path unet = dir.resolve("unet/model.onnx");
        Files.createDirectories(unet.getParent());
        Files.copy(TinyModel.dir().resolve("unet/model.onnx"), unet);
        int batch = 2;
        long[] shape = {batch, 4, 8, 8};
        float[] latents = gaussian(1, batch * 256);
        float[] context = gaussian(2, batch * 77 * 32);
        try (UNetTwin twin = UNetTwin.load(unet, manager)) {
            Set<String> names = new HashSet<>();
            long values = 0;
            for (TwinParameter p : twin.parameters()) {
                assertTrue(names.add(p.initializer()), "each initializer once: " + p.initializer());
                values += p.array().size();
            }
            // every weight of the graph but the time projection's constant frequencies and GroupNorm's unit
            // InstanceNormalization scales: 3.3M values in the tiny preset
            long bytes = Files.size(unet);
            assertTrue(values * 4 > bytes * 0.95 && values * 4 < bytes, values + " values in a " + bytes + "-byte graph");
            assertTrue(twin.parameters().stream().anyMatch(TwinParameter::transposed), "Gemm weights are held transposed");
            Map<String, float[]> trained = perturb(twin.parameters(), 3);
            InitializerValues.replace(unet, trained);
            float[] expected;
            try (UNetModel ort = new UNetModel(TinyModel.runtime().open(unet, "UNet"))) {
                expected = ort.predict(latents, shape, 500, new TextEmbeddings(context, batch, 77, 32), Map.of());
            }
            try (NDManager m = twin.manager().newSubManager()) {
                float[] actual = twin.predict(m.create(latents, new Shape(shape)), m.create(new float[] {500, 500}),
                        m.create(context, new Shape(batch, 77, 32)), SiteAdapters.NONE).toFloatArray();
                assertTrue(relative(actual, expected) < 1e-4, "twin vs ONNX Runtime on the rewritten graph: " + relative(actual, expected));
            }
        }
        // and a fresh twin reads the new values back
        try (UNetTwin reread = UNetTwin.load(unet, manager);
             UNetTwin original = UNetTwin.load(TinyModel.dir().resolve("unet/model.onnx"), manager)) {
            float[] a = reread.parameters().get(0).array().toFloatArray();
            float[] b = original.parameters().get(0).array().toFloatArray();
            assertTrue(relative(a, b) > 1e-3, "the rewritten file holds the new values");
        }
    }

    @Test
    void vaeDecoderTwinMatchesOnnxRuntimeBeforeAndAfterRewriting() throws Exception {
        Path vae = dir.resolve("vae_decoder/model.onnx");
        Files.createDirectories(vae.getParent());
        Files.copy(TinyModel.dir().resolve("vae_decoder/model.onnx"), vae);
        long[] shape = {2, 4, 8, 8};
        float[] latents = gaussian(4, 2 * 256);
        try (VaeDecoderTwin twin = VaeDecoderTwin.load(vae, manager)) {
            for (int round = 0; round < 2; round++) {
                if (round == 1) InitializerValues.replace(vae, perturb(twin.parameters(), 5));
                float[] expected;
                try (VaeDecoderModel ort = new VaeDecoderModel(TinyModel.runtime().open(vae, "VAE decoder"))) {
                    VaeDecoderModel.Decoded d = ort.decode(latents, shape);
                    assertEquals(64, d.shape()[2]);
                    expected = d.pixels();
                }
                try (NDManager m = twin.manager().newSubManager()) {
                    NDArray out = twin.decode(m.create(latents, new Shape(shape)));
                    assertEquals(new Shape(2, 3, 64, 64), out.getShape());
                    double err = relative(out.toFloatArray(), expected);
                    assertTrue(err < 1e-4, "round " + round + ": decoder twin vs ONNX Runtime " + err);
                }
            }
        }
    }
}
