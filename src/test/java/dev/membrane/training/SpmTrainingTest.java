package dev.membrane.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.TextEncoderModel;
import dev.membrane.diffusion.UNetModel;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.spm.AdapterFeeds;
import dev.membrane.spm.AdapterSites;
import dev.membrane.spm.AdapterSlots;
import dev.membrane.spm.AppliedAdapter;
import dev.membrane.spm.SlotLayout;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.UNetPreparer;
import dev.membrane.testing.TinyModel;
import dev.membrane.training.twin.SiteAdapters;
import dev.membrane.training.twin.UNetTwin;

/**
 * Short Latent Anchoring runs on the tiny model: the file is in the official format, the gateway's ONNX path
 * (prepared UNet, slots) computes what the twin computes with it, and a run stopped and resumed equals an
 * uninterrupted one bit for bit.
 */
class SpmTrainingTest {
    private static final int ITERATIONS = 8;
    @TempDir
    static Path dir;
    private static Engine engine;
    private static NDManager manager;
    private static UNetTwin twin;
    private static ModelFolder folder;
    private static TrainingSpec spec;
    private static Conditioning conditioning;
    private static LatentAnchoringTrainer.Result straight;
    private static Path straightFile;

    @BeforeAll
    static void trainOnce() {
        engine = TorchEngine.start(Path.of("target", "djl-cache"));
        manager = NDManager.newBaseManager();
        folder = ModelFolder.open(TinyModel.dir());
        twin = UNetTwin.load(folder.unet(), manager);
        // a shorter trajectory (8-step schedule) and a faster schedule than the official defaults, so CI stays quick
        spec = TrainingSpec.builder(List.of("snoopy"), 64).iterations(ITERATIONS).seed(11).schedule(1e-3, 2, 1)
                .maxDenoisingSteps(8).checkPrompts(List.of("a photo of a cat")).build();
        conditioning = encode(spec);
        straightFile = dir.resolve("straight/snoopy.safetensors");
        try (LatentAnchoringTrainer t = trainer()) {
            straight = t.run(straightFile, 4, null, "unet-under-test", (d, e, a) -> { }, new StopSignal());
        }
    }

    private static Conditioning encode(TrainingSpec recipe) {
        try (TextEncoderModel text = new TextEncoderModel(TinyModel.runtime().open(folder.textEncoder(), "text encoder"))) {
            return Conditioning.encode(new PromptEncoder(dev.membrane.tokenizer.ClipTokenizer.load(folder.tokenizer()), text), recipe);
        }
    }

    @AfterAll
    static void close() {
        twin.close();
        manager.close();
    }

    private static LatentAnchoringTrainer trainer() {
        return new LatentAnchoringTrainer(twin, engine, SchedulerConfig.load(folder.schedulerConfig()), conditioning, spec,
                new ServedUNet(TinyModel.runtime(), dev.membrane.spm.PreparedUNets.ensure(folder, 1)));
    }

    @Test
    void writesTheOfficialFormat() {
        SpmFile f = SpmFile.read(straightFile);
        assertEquals(List.of("snoopy"), f.prompts());
        assertEquals("snoopy", f.metadata().get("prompts"));
        assertEquals("1", f.metadata().get("rank"));
        assertEquals("1.0", f.metadata().get("alpha"));
        assertEquals(192, f.modules().size());
        assertEquals(192, f.match(AdapterSites.find(UNetPreparer.readModel(folder.unet()).getGraph())).matched().size());
        assertEquals(straight.sha256(), dev.membrane.Hashes.sha256(readBytes(straightFile)));
        assertTrue(f.modules().values().stream().anyMatch(m -> m.up()[0] != 0), "lora_up left zero: nothing was trained");
        assertEquals(ITERATIONS, straight.lossErase().length);
        for (float l : straight.lossErase()) assertTrue(Float.isFinite(l) && l > 0);
        assertTrue(Double.isFinite(straight.heldOut().eraseDistance()) && straight.heldOut().eraseUntrained() > 0);
        assertTrue(Files.exists(TrainingCheckpoint.stateFileFor(straightFile)));
    }

    @Test
    void gatewaySlotsComputeWhatTheTwinComputes() throws Exception {
        SpmFile trained = SpmFile.read(straightFile);
        Path prepared = dir.resolve("prepared.spm.onnx");
        Files.copy(folder.unet(), dir.resolve("model.onnx"));
        SlotLayout layout = UNetPreparer.prepare(dir.resolve("model.onnx"), 1, prepared);
        int side = 8;
        int d = conditioning.width();
        float[] latents = TwinParityTest.gaussian(5, 4 * side * side, 1);
        float[] context = conditioning.targets().get(0);
        long[] shape = {1, 4, side, side};
        double t = 533;
        double gamma = 1.0;
        float[] ortBase;
        float[] ortSpm;
        try (UNetModel base = new UNetModel(TinyModel.runtime().open(folder.unet(), "UNet"));
             UNetModel served = new UNetModel(TinyModel.runtime().open(prepared, "UNet"))) {
            TextEmbeddings emb = new TextEmbeddings(context, 1, 77, d);
            ortBase = base.predict(latents, shape, t, emb, Map.of());
            AdapterSlots slots = AdapterSlots.fill(layout, List.of(List.of(new AppliedAdapter(trained, gamma))), StackingMode.LINEAR);
            Map<String, OnnxTensor> feeds = AdapterFeeds.tensors(TinyModel.runtime().environment(), layout, slots);
            try {
                ortSpm = served.predict(latents, shape, t, emb, feeds);
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
        }
        float[] twinSpm;
        float[] twinBase;
        try (NDManager m = twin.manager().newSubManager()) {
            NDArray x = m.create(latents, new Shape(shape));
            NDArray ts = m.create(new float[] {(float) t});
            NDArray c = m.create(context, new Shape(1, 77, d));
            twinSpm = twin.predict(x, ts, c, SpmParameters.of(trained, twin.sites()).bind(m, gamma, false)).toFloatArray();
            twinBase = twin.predict(x, ts, c, SiteAdapters.NONE).toFloatArray();
        }
        double err = TwinParityTest.relative(twinSpm, ortSpm);
        assertTrue(err < 1e-4, "twin vs gateway with the trained adapter: " + err);
        // and the adapter's own effect agrees, so the comparison above is not carried by the base model alone
        float[] ortDelta = new float[ortSpm.length];
        float[] twinDelta = new float[ortSpm.length];
        for (int i = 0; i < ortSpm.length; i++) {
            ortDelta[i] = ortSpm[i] - ortBase[i];
            twinDelta[i] = twinSpm[i] - twinBase[i];
        }
        double deltaNorm = TwinParityTest.relative(ortSpm, ortBase);
        assertTrue(deltaNorm > 1e-4, "the trained adapter changes ε: " + deltaNorm);
        assertTrue(TwinParityTest.relative(twinDelta, ortDelta) < 2e-2, "adapter effect twin vs gateway: " + TwinParityTest.relative(twinDelta, ortDelta));
    }

    @Test
    void stoppedAndResumedEqualsUninterrupted() {
        Path out = dir.resolve("resumed/snoopy.safetensors");
        StopSignal stop = new StopSignal();
        LatentAnchoringTrainer.Result first;
        try (LatentAnchoringTrainer t = trainer()) {
            first = t.run(out, 100, null, "unet-under-test", (done, e, a) -> {
                if (done == 3) stop.request();
            }, stop);
        }
        assertTrue(first.interrupted());
        assertEquals(3, first.iterationsDone());
        SpmFile.read(out); // the stopped run left a loadable adapter
        TrainingCheckpoint checkpoint = TrainingCheckpoint.read(TrainingCheckpoint.stateFileFor(out));
        assertEquals(3, checkpoint.iteration());
        assertEquals(spec, checkpoint.spec());
        LatentAnchoringTrainer.Result rest;
        try (LatentAnchoringTrainer t = trainer()) {
            rest = t.run(out, 100, checkpoint, "unet-under-test", (d, e, a) -> { }, new StopSignal());
        }
        assertFalse(rest.interrupted());
        assertEquals(3, rest.startIteration());
        assertEquals(straight.sha256(), rest.sha256(), "resumed run's file differs from the uninterrupted run's");
        assertArrayEquals(straight.lossErase(), rest.lossErase());
        assertArrayEquals(straight.lossAnchor(), rest.lossAnchor());
    }

    @Test
    void microBatchesGiveTheSameGradients() {
        SpmParameters spm = SpmParameters.initialise(twin.sites(), 1, 1, 3);
        // U away from zero, so that both factors get gradients
        for (var e : spm.tensors().entrySet()) if (e.getKey().endsWith("lora_up.weight")) java.util.Arrays.fill(e.getValue(), 0.01f);
        float[] latent = TwinParityTest.gaussian(1, 4 * 8 * 8, 1);
        List<float[]> rows = new java.util.ArrayList<>();
        rows.add(conditioning.targets().get(0));
        for (int a = 0; a < 4; a++) rows.add(TwinParityTest.gaussian(10 + a, conditioning.elements(), 0.5));
        float[] eraseTarget = TwinParityTest.gaussian(20, 4 * 8 * 8, 1);
        float[] base = TwinParityTest.gaussian(21, 6 * 4 * 8 * 8, 1);
        LatentAnchoringTrainer.Gradients[] g = new LatentAnchoringTrainer.Gradients[3];
        for (int micro : new int[] {0, 1, 2}) {
            try (LatentAnchoringTrainer t = new LatentAnchoringTrainer(twin, engine, SchedulerConfig.load(folder.schedulerConfig()),
                    conditioning, spec, null, micro); NDManager m = twin.manager().newSubManager()) {
                g[micro] = t.gradients(m, spm, latent, 500, rows, eraseTarget, base);
            }
        }
        for (int micro : new int[] {1, 2}) {
            assertEquals(g[0].lossErase(), g[micro].lossErase(), 1e-6 * g[0].lossErase());
            assertEquals(g[0].lossAnchor(), g[micro].lossAnchor(), 1e-6 * g[0].lossAnchor());
            double diff = 0;
            double norm = 0;
            for (var e : g[0].values().entrySet()) {
                float[] a = e.getValue();
                float[] b = g[micro].values().get(e.getKey());
                for (int i = 0; i < a.length; i++) {
                    diff += (a[i] - b[i]) * (double) (a[i] - b[i]);
                    norm += a[i] * (double) a[i];
                }
            }
            assertTrue(norm > 0 && Math.sqrt(diff / norm) < 1e-4, "micro-batch " + micro + " gradients vs one pass: " + Math.sqrt(diff / norm));
        }
    }

    /**
     * Anchoring "" holds the unconditional prediction, the half of classifier-free guidance that guidance multiplies
     * by (g − 1) and that no other anchor pins: the same short run with and without it, ε("") measured against the
     * base model on the twin.
     */
    @Test
    void anchoringTheEmptyPromptHoldsTheUnconditionalPrediction() {
        TrainingSpec withEmpty = TrainingSpec.builder(List.of("snoopy"), 64).iterations(ITERATIONS).seed(11).schedule(1e-3, 2, 1)
                .maxDenoisingSteps(8).checkPrompts(List.of("a photo of a cat")).anchorPrompts(List.of("")).build();
        Conditioning c = encode(withEmpty);
        assertArrayEquals(c.unconditional(), c.anchorPrompts().get(0), "\"\" anchors exactly the sampler's unconditional embedding");
        Path anchored = dir.resolve("anchored/snoopy.safetensors");
        try (LatentAnchoringTrainer t = new LatentAnchoringTrainer(twin, engine, SchedulerConfig.load(folder.schedulerConfig()), c, withEmpty,
                new ServedUNet(TinyModel.runtime(), dev.membrane.spm.PreparedUNets.ensure(folder, 1)))) {
            t.run(anchored, 100, null, "unet-under-test", (d, e, a) -> { }, new StopSignal());
        }
        double without = unconditionalDrift(SpmFile.read(straightFile), c);
        double with = unconditionalDrift(SpmFile.read(anchored), c);
        assertTrue(without > 0, "the run without it moves ε(\"\")");
        assertTrue(with < 0.5 * without, "ε(\"\") drift with \"\" anchored " + with + " against " + without + " without");
    }

    /** ‖ε_spm(x, t, "") − ε_base(x, t, "")‖ / ‖ε_base‖ summed over a few timesteps and latents. */
    private static double unconditionalDrift(SpmFile adapter, Conditioning c) {
        double drift = 0;
        try (NDManager m = twin.manager().newSubManager()) {
            SiteAdapters bound = SpmParameters.of(adapter, twin.sites()).bind(m, 1, false);
            NDArray context = m.create(c.unconditional(), new Shape(1, c.length(), c.width()));
            for (int k = 0; k < 4; k++) {
                NDArray x = m.create(TwinParityTest.gaussian(40 + k, 4 * 8 * 8, 1), new Shape(1, 4, 8, 8));
                NDArray t = m.create(new float[] {100 + 250 * k});
                drift += TwinParityTest.relative(twin.predict(x, t, context, bound).toFloatArray(),
                        twin.predict(x, t, context, SiteAdapters.NONE).toFloatArray());
            }
        }
        return drift;
    }

    @Test
    void refusesACheckpointOfAnotherUNet() {
        TrainingCheckpoint checkpoint = TrainingCheckpoint.read(TrainingCheckpoint.stateFileFor(straightFile));
        dev.membrane.MembraneException e;
        try (LatentAnchoringTrainer t = trainer()) {
            e = org.junit.jupiter.api.Assertions.assertThrows(dev.membrane.MembraneException.class,
                    () -> t.run(dir.resolve("other.safetensors"), 100, checkpoint, "another-unet", (d, l, a) -> { }, new StopSignal()));
        }
        assertTrue(e.getMessage().contains("another-unet"), e.getMessage());
    }

    private static byte[] readBytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
