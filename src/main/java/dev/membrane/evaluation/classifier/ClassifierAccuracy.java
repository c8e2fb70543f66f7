package dev.membrane.evaluation.classifier;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.ToIntFunction;

import dev.membrane.world.Scene;

/** Per-head confusion matrices of a classifier on freshly rendered images of a seed of their own. */
public final class ClassifierAccuracy {
    private ClassifierAccuracy() {
    }

    /** {@code count} fresh images from {@code seed} (both palettes, random scenes), classified in chunks. */
    public static Map<Head, ConfusionMatrix> measure(ShapesClassifier classifier, long seed, int count) {
        return measure(classifier, seed, count, false);
    }

    /** As {@link #measure(ShapesClassifier, long, int)}, the images {@link Degradation degraded} with {@code degrade}. */
    public static Map<Head, ConfusionMatrix> measure(ShapesClassifier classifier, long seed, int count, boolean degrade) {
        Map<Head, ConfusionMatrix> m = emptyMatrices();
        SplittableRandom random = new SplittableRandom(seed);
        for (int done = 0; done < count; done += ShapesClassifier.CHUNK) {
            int n = Math.min(ShapesClassifier.CHUNK, count - done);
            RenderedBatch batch = RenderedBatch.draw(random, n, degrade);
            List<Prediction> predictions = classifier.classifyPlanar(batch.pixels(), n);
            for (int i = 0; i < n; i++) {
                int item = i;
                tally(m, h -> batch.labels().get(h)[item], predictions.get(i));
            }
        }
        return m;
    }

    /**
     * As {@link #measure}, with the scenes rendered at {@code side} pixels and read the way generated images are
     * (resampled to the classifier's 64x64): a model trained at 128x128 is measured through this path.
     */
    public static Map<Head, ConfusionMatrix> measureRenderedAt(ShapesClassifier classifier, long seed, int count, int side) {
        Map<Head, ConfusionMatrix> m = emptyMatrices();
        SplittableRandom random = new SplittableRandom(seed);
        List<Scene> scenes = new ArrayList<>(count);
        List<BufferedImage> images = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            RenderedBatch.DrawnScene drawn = RenderedBatch.drawScene(random);
            scenes.add(drawn.scene());
            images.add(drawn.render(side));
        }
        List<Prediction> predictions = classifier.classify(images);
        for (int i = 0; i < count; i++) {
            Scene scene = scenes.get(i);
            tally(m, h -> h.labelOf(scene), predictions.get(i));
        }
        return m;
    }

    private static Map<Head, ConfusionMatrix> emptyMatrices() {
        Map<Head, ConfusionMatrix> m = new EnumMap<>(Head.class);
        for (Head h : Head.values()) m.put(h, ConfusionMatrix.empty(h.labels()));
        return m;
    }

    /** Adds one image to every head's matrix: its true class per head against the predicted one. */
    private static void tally(Map<Head, ConfusionMatrix> m, ToIntFunction<Head> truth, Prediction prediction) {
        for (Head h : Head.values()) m.get(h).add(truth.applyAsInt(h), prediction.classOf(h));
    }
}
