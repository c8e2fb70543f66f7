package dev.membrane.evaluation.classifier;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import dev.membrane.MembraneException;
import dev.membrane.training.Progress;
import dev.membrane.training.AdamW;
import dev.membrane.training.LearningRateSchedule;

/**
 * Trains the concept classifier on DJL's PyTorch engine from images rendered afresh for every step (never a
 * generated image, never the same image twice): AdamW with a linear warm-up and one cosine decay. Step i's batch
 * comes from its own stream (seed, i), so a run is a pure function of its options on one machine.
 */
public final class ClassifierTrainer {
    /**
     * @param seed   initialisation and every batch
     * @param steps  optimizer steps
     * @param batch  images per step
     * @param lr     peak learning rate
     * @param warmup warm-up steps
     * @param degrade train on {@link Degradation degraded} renders (4 in 5 images), as a generated image looks
     */
    public record Options(long seed, int steps, int batch, double lr, int warmup, boolean degrade) {
        public static final int DEFAULT_STEPS = 1000;
        public static final int DEFAULT_BATCH = 64;

        public Options {
            if (steps < 1) throw new MembraneException("--steps must be at least 1, got " + steps);
            if (batch < 1) throw new MembraneException("batch must be at least 1, got " + batch);
        }

        public static Options of(long seed, int steps, boolean degrade) {
            return new Options(seed, steps, DEFAULT_BATCH, 3e-3, Math.min(100, steps / 10), degrade);
        }
    }

    /**
     * @param weights        the trained parameters
     * @param firstLoss      mean loss of the first (up to) 50 steps
     * @param lastLoss       mean loss of the last (up to) 50 steps
     * @param lastTrainAccuracy per head, accuracy on the last (up to) 50 training batches
     * @param trainMs        wall time of the loop
     */
    public record Result(ClassifierWeights weights, double firstLoss, double lastLoss,
                         Map<Head, Double> lastTrainAccuracy, double trainMs) {
    }

    private final Engine engine;
    private final NDManager manager;

    public ClassifierTrainer(Engine engine, NDManager manager) {
        this.engine = engine;
        this.manager = manager;
    }

    public Result train(Options o, Progress progress) {
        ClassifierWeights weights = ClassifierWeights.initialise(o.seed());
        AdamW adam = new AdamW();
        LearningRateSchedule schedule = new LearningRateSchedule(o.lr(), o.warmup(), o.steps(), 1);
        int window = Math.min(50, o.steps());
        double firstLoss = 0;
        double lastLoss = 0;
        Map<Head, long[]> lastHits = new EnumMap<>(Head.class);
        for (Head h : Head.values()) lastHits.put(h, new long[1]);
        long start = System.nanoTime();
        progress.start(o.steps());
        double shownLoss = Double.NaN;
        for (int step = 0; step < o.steps(); step++) {
            RenderedBatch batch = RenderedBatch.draw(new SplittableRandom(streamSeed(o.seed(), step)), o.batch(), o.degrade());
            StepResult r = step(weights, batch);
            adam.update(weights.tensors(), r.gradients(), schedule.at(step));
            if (step < window) firstLoss += r.loss() / window;
            if (step >= o.steps() - window) {
                lastLoss += r.loss() / window;
                for (Head h : Head.values()) lastHits.get(h)[0] += r.hits().get(h);
            }
            shownLoss = Double.isNaN(shownLoss) ? r.loss() : 0.95 * shownLoss + 0.05 * r.loss();
            progress.update(step + 1, String.format(Locale.ROOT, "loss %.4f lr %.2e", shownLoss, schedule.at(step)));
        }
        Map<Head, Double> acc = new EnumMap<>(Head.class);
        for (Head h : Head.values()) acc.put(h, lastHits.get(h)[0] / (double) (window * o.batch()));
        return new Result(weights, firstLoss, lastLoss, acc, (System.nanoTime() - start) / 1e6);
    }

    /** SplitMix64 of (seed, step): independent, reproducible streams per step. */
    static long streamSeed(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    record StepResult(double loss, Map<String, float[]> gradients, Map<Head, Integer> hits) {
    }

    /** One forward and backward pass; every tensor of it lives in one sub-manager closed at the end. */
    StepResult step(ClassifierWeights weights, RenderedBatch batch) {
        int side = ClassifierArchitecture.SIDE;
        try (NDManager pass = manager.newSubManager()) {
            NDArray x = pass.create(batch.pixels(), new Shape(batch.count(), 3, side, side));
            Map<String, NDArray> params = TorchClassifier.bind(pass, weights, true);
            Map<Head, NDArray> oneHot = new EnumMap<>(Head.class);
            for (Head h : Head.values()) oneHot.put(h, pass.create(batch.oneHot(h), new Shape(batch.count(), h.classes())));
            NDArray scale = pass.create(-1f / batch.count());
            TorchClassifier.Output out;
            NDArray loss;
            try (GradientCollector gc = engine.newGradientCollector()) {
                out = TorchClassifier.forward(x, params);
                loss = TorchClassifier.loss(out, oneHot, scale);
                gc.backward(loss);
            }
            Map<String, float[]> grads = new LinkedHashMap<>();
            params.forEach((name, p) -> grads.put(name, p.getGradient().toFloatArray()));
            Map<Head, Integer> hits = new EnumMap<>(Head.class);
            for (Head h : Head.values()) {
                float[] logits = out.logits().get(h).toFloatArray();
                int[] labels = batch.labels().get(h);
                int hit = 0;
                for (int i = 0; i < batch.count(); i++) {
                    if (ShapesClassifier.argmax(java.util.Arrays.copyOfRange(logits, i * h.classes(), (i + 1) * h.classes())) == labels[i]) hit++;
                }
                hits.put(h, hit);
            }
            return new StepResult(loss.getFloat(), grads, hits);
        }
    }

    /** The DJL forward pass without gradients (for parity checks with the ONNX export). */
    public Map<String, float[]> forward(ClassifierWeights weights, float[] planar, int count) {
        int side = ClassifierArchitecture.SIDE;
        try (NDManager pass = manager.newSubManager()) {
            NDArray x = pass.create(planar, new Shape(count, 3, side, side));
            TorchClassifier.Output out = TorchClassifier.forward(x, TorchClassifier.bind(pass, weights, false));
            Map<String, float[]> m = new LinkedHashMap<>();
            for (Head h : Head.values()) m.put(h.output(), out.logits().get(h).toFloatArray());
            m.put(ClassifierExport.FEATURES, out.features().toFloatArray());
            return m;
        }
    }
}
