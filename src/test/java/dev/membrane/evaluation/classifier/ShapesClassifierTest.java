package dev.membrane.evaluation.classifier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.training.Progress;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.training.TorchEngine;

/**
 * The classifier: a short training run on DJL, its ONNX export equal to the DJL forward, determinism, and the
 * committed classifier's accuracy on fresh renders.
 */
class ShapesClassifierTest {
    private static final Path COMMITTED = Path.of("models", "shapes", "classifier.onnx");
    @TempDir
    static Path dir;
    private static Engine engine;
    private static NDManager manager;
    private static OrtRuntime runtime;
    private static ClassifierTrainer trainer;
    private static ClassifierTrainer.Result trained;

    @BeforeAll
    static void trainAFewSteps() {
        engine = TorchEngine.start(Path.of("target", "djl-cache"));
        manager = NDManager.newBaseManager();
        runtime = OrtRuntime.create(RuntimeConfig.cpuDefaults());
        trainer = new ClassifierTrainer(engine, manager);
        trained = trainer.train(new ClassifierTrainer.Options(5, 4, 8, 3e-3, 1, true), Progress.silent());
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    @Test
    void onnxExportComputesWhatTheDjlForwardComputes() {
        Path file = dir.resolve("c.onnx");
        ClassifierExport.write(trained.weights(), Map.of(), file);
        RenderedBatch batch = RenderedBatch.draw(new SplittableRandom(99), 6);
        Map<String, float[]> djl = trainer.forward(trained.weights(), batch.pixels(), batch.count());
        try (ShapesClassifier c = ShapesClassifier.open(runtime, file)) {
            Map<String, float[]> ort = c.run(batch.pixels(), batch.count());
            for (Map.Entry<String, float[]> e : djl.entrySet()) {
                float[] a = e.getValue();
                float[] b = ort.get(e.getKey());
                assertEquals(a.length, b.length, e.getKey());
                for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4 * Math.max(1, Math.abs(a[i])), e.getKey() + "[" + i + "]");
            }
            List<Prediction> p = c.classifyPlanar(batch.pixels(), batch.count());
            assertEquals(6, p.size());
            float sum = 0;
            for (float v : p.get(0).probabilities().get(Head.SHAPE)) sum += v;
            assertEquals(1, sum, 1e-5);
            assertEquals(64, p.get(0).features().length);
        }
    }

    @Test
    void trainingIsDeterministicForASeed() {
        ClassifierTrainer.Result again = trainer.train(new ClassifierTrainer.Options(5, 4, 8, 3e-3, 1, true), Progress.silent());
        for (String name : trained.weights().tensors().keySet()) {
            assertArrayEquals(trained.weights().get(name), again.weights().get(name), name);
        }
        assertTrue(trained.lastLoss() < trained.firstLoss() + 1, "loss is finite and not exploding");
    }

    @Test
    void aModelOfAnotherWorldIsRefused() {
        Path file = dir.resolve("other.onnx");
        ai.onnx.proto.OnnxMl.ModelProto m = ClassifierExport.graph(trained.weights(), Map.of());
        ai.onnx.proto.OnnxMl.ModelProto.Builder b = m.toBuilder().clearMetadataProps();
        dev.membrane.onnx.graph.GraphBuilder.write(b.build(), file);
        MembraneException e = assertThrows(MembraneException.class, () -> ShapesClassifier.open(runtime, file));
        assertTrue(e.getMessage().contains("not this world's"), e.getMessage());
    }

    @Test
    void rendersOfOtherSizesAreResampled() {
        java.awt.image.BufferedImage big = new dev.membrane.world.ShapesWorld(dev.membrane.world.Palette.CLASSIC)
                .render(new dev.membrane.world.Scene(dev.membrane.world.ShapeKind.STAR, dev.membrane.world.Colour.BLUE,
                        dev.membrane.world.Background.WHITE, dev.membrane.world.Style.SOLID, 0.6, 0.5, 0.5), 128);
        assertEquals(64, ShapesClassifier.resized(big, 64).getWidth());
    }

    /** The committed file read back into DJL computes what ONNX Runtime computes with it. */
    @Test
    void committedClassifierReadsBackIntoTheDjlForward() {
        Assumptions.assumeTrue(Files.exists(COMMITTED), "no committed classifier at " + COMMITTED);
        ClassifierWeights weights = ClassifierWeights.read(COMMITTED);
        RenderedBatch batch = RenderedBatch.draw(new SplittableRandom(42), 4);
        Map<String, float[]> djl = trainer.forward(weights, batch.pixels(), batch.count());
        try (ShapesClassifier c = ShapesClassifier.open(runtime, COMMITTED)) {
            Map<String, float[]> ort = c.run(batch.pixels(), batch.count());
            for (Map.Entry<String, float[]> e : djl.entrySet()) {
                float[] a = e.getValue();
                float[] b = ort.get(e.getKey());
                for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4 * Math.max(1, Math.abs(a[i])), e.getKey() + "[" + i + "]");
            }
        }
    }

    /** The classifier evaluations use, on 300 renders of a seed it never saw: at least 97% per head. */
    @Test
    void committedClassifierIsAccurateOnFreshRenders() {
        Assumptions.assumeTrue(Files.exists(COMMITTED), "no committed classifier at " + COMMITTED);
        try (ShapesClassifier c = ShapesClassifier.open(runtime, COMMITTED)) {
            Map<Head, ConfusionMatrix> m = ClassifierAccuracy.measure(c, 20_261_201L, 300);
            for (Head h : Head.values()) {
                assertEquals(300, m.get(h).total());
                assertTrue(m.get(h).accuracy() >= 0.97, h.id() + " accuracy " + m.get(h).accuracy());
            }
        }
    }

    /** The shapes model draws 128x128: renders of that size, resampled as generated images are, read as well. */
    @Test
    void committedClassifierReads128PixelRendersThroughTheResamplingPath() {
        Assumptions.assumeTrue(Files.exists(COMMITTED), "no committed classifier at " + COMMITTED);
        try (ShapesClassifier c = ShapesClassifier.open(runtime, COMMITTED)) {
            Map<Head, ConfusionMatrix> m = ClassifierAccuracy.measureRenderedAt(c, 20_261_202L, 300, 128);
            for (Head h : Head.values()) {
                assertEquals(300, m.get(h).total());
                assertTrue(m.get(h).accuracy() >= 0.97, h.id() + " accuracy at 128 " + m.get(h).accuracy() + " " + java.util.Arrays.deepToString(m.get(h).counts()));
            }
        }
    }
}
