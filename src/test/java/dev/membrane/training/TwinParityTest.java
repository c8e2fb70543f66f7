package dev.membrane.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.UNetModel;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.onnx.graph.WeightStore;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.onnx.reference.ReferencePreset;
import dev.membrane.spm.AdapterFeeds;
import dev.membrane.spm.AdapterSlots;
import dev.membrane.spm.AppliedAdapter;
import dev.membrane.spm.SlotLayout;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.UNetPreparer;
import dev.membrane.testing.TinyModel;
import dev.membrane.training.twin.SiteAdapters;
import dev.membrane.training.twin.UNetTwin;

/** The DJL twin's noise prediction against ONNX Runtime's on the same ONNX files, without and with adapters. */
class TwinParityTest {
    /** SD 1.5's topology (8 heads, 32 groups, cross-attention 768) at a quarter of its widths or less. */
    static final ReferencePreset NARROW_SD15 = new ReferencePreset("sd15-narrow", 768, 1, 12, 0.02,
            new int[] {64, 128, 256, 256}, 32, 8, new int[] {32, 32, 16, 16}, 8, 64, SchedulerKind.PNDM);
    private static final double GAMMA = 0.8;

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

    static float[] gaussian(long seed, int n, double scale) {
        return dev.membrane.testing.Numeric.gaussian(seed, n, scale);
    }

    /** A random rank-r adapter on every site, written in the official format and read back. */
    static SpmFile randomAdapter(Path file, List<dev.membrane.spm.AdapterSite> sites, int rank, float alpha, long seed) {
        SpmParameters p = SpmParameters.initialise(sites, rank, alpha, seed);
        Random r = new Random(seed + 1);
        for (var e : p.tensors().entrySet()) {
            if (e.getKey().endsWith("lora_up.weight")) for (int i = 0; i < e.getValue().length; i++) e.getValue()[i] = (float) (r.nextGaussian() * 0.3);
        }
        p.write(file, List.of("concept"));
        return SpmFile.read(file);
    }

    static double relative(float[] actual, float[] expected) {
        return dev.membrane.testing.Numeric.relative(actual, expected);
    }

    private static void checkParity(Path unetFile, int width, String label) throws Exception {
        int batch = 2;
        int side = 8;
        float[] latents = gaussian(1, batch * 4 * side * side, 1);
        float[] context = gaussian(2, batch * 77 * width, 1);
        long[] shape = {batch, 4, side, side};
        TextEmbeddings emb = new TextEmbeddings(context, batch, 77, width);
        Path prepared = unetFile.resolveSibling(UNetPreparer.PREPARED_FILE);
        SlotLayout layout = UNetPreparer.prepare(unetFile, 2, prepared);
        try (UNetModel base = new UNetModel(TinyModel.runtime().open(unetFile, "UNet"));
             UNetModel spmUNet = new UNetModel(TinyModel.runtime().open(prepared, "UNet"));
             UNetTwin twin = UNetTwin.load(unetFile, manager)) {
            assertEquals(192, twin.sites().size());
            SpmFile adapter = randomAdapter(dir.resolve(label + ".safetensors"), twin.sites(), 2, 1.5f, 7);
            for (double t : new double[] {999, 421, 1}) {
                float[] expected = base.predict(latents, shape, t, emb, Map.of());
                AdapterSlots slots = AdapterSlots.fill(layout, List.of(List.of(new AppliedAdapter(adapter, GAMMA)),
                        List.of(new AppliedAdapter(adapter, GAMMA))), StackingMode.LINEAR);
                Map<String, OnnxTensor> feeds = AdapterFeeds.tensors(TinyModel.runtime().environment(), layout, slots);
                float[] expectedSpm;
                try {
                    expectedSpm = spmUNet.predict(latents, shape, t, emb, feeds);
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
                try (NDManager m = twin.manager().newSubManager()) {
                    NDArray x = m.create(latents, new Shape(shape));
                    NDArray ts = m.create(new float[] {(float) t, (float) t});
                    NDArray c = m.create(context, new Shape(batch, 77, width));
                    float[] actual = twin.predict(x, ts, c, SiteAdapters.NONE).toFloatArray();
                    double err = relative(actual, expected);
                    assertTrue(err < 1e-4, label + " t=" + t + ": twin vs ONNX Runtime relative error " + err);
                    var bound = SpmParameters.of(adapter, twin.sites()).bind(m, GAMMA, false);
                    float[] actualSpm = twin.predict(x, ts, c, bound).toFloatArray();
                    double errSpm = relative(actualSpm, expectedSpm);
                    assertTrue(errSpm < 1e-4, label + " t=" + t + " with adapter: relative error " + errSpm);
                    // the adapter must matter, or the second comparison proves nothing
                    assertTrue(relative(expectedSpm, expected) > 1e-2, "adapter changes the prediction");
                }
            }
        }
    }

    @Test
    void tinyPresetMatchesOnnxRuntime() throws Exception {
        Path unet = dir.resolve("tiny/unet/model.onnx");
        java.nio.file.Files.createDirectories(unet.getParent());
        java.nio.file.Files.copy(TinyModel.dir().resolve("unet/model.onnx"), unet);
        checkParity(unet, ReferencePreset.TINY.textWidth(), "tiny");
    }

    @Test
    void narrowSd15TopologyWithExternalDataMatchesOnnxRuntime() throws Exception {
        Path unet = dir.resolve("narrow/unet/model.onnx");
        java.nio.file.Files.createDirectories(unet.getParent());
        var options = ReferenceModelBuilder.Options.of(NARROW_SD15);
        GraphBuilder.write(ReferenceModelBuilder.unetModel(options, WeightStore.external(unet.resolveSibling("weights.pb"))), unet);
        checkParity(unet, NARROW_SD15.textWidth(), "narrow-sd15");
    }
}
