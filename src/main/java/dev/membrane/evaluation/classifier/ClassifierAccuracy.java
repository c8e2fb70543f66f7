package dev.membrane.evaluation.classifier;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Per-head confusion matrices of a classifier on freshly rendered images of a seed of their own. */
public final class ClassifierAccuracy {
    private ClassifierAccuracy() {
    }

    /** {@code count} fresh images from {@code seed} (both palettes, random scenes), classified in chunks. */
    public static Map<Head, ConfusionMatrix> measure(ShapesClassifier classifier, long seed, int count) {
        Map<Head, ConfusionMatrix> m = new EnumMap<>(Head.class);
        for (Head h : Head.values()) m.put(h, ConfusionMatrix.empty(h.labels()));
        SplittableRandom random = new SplittableRandom(seed);
        for (int done = 0; done < count; done += ShapesClassifier.CHUNK) {
            int n = Math.min(ShapesClassifier.CHUNK, count - done);
            RenderedBatch batch = RenderedBatch.draw(random, n);
            List<Prediction> predictions = classifier.classifyPlanar(batch.pixels(), n);
            for (int i = 0; i < n; i++) {
                for (Head h : Head.values()) m.get(h).add(batch.labels().get(h)[i], predictions.get(i).classOf(h));
            }
        }
        return m;
    }
}
