package dev.membrane.evaluation.classifier;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import dev.membrane.world.Palette;
import dev.membrane.world.Scene;
import dev.membrane.world.ShapesWorld;

/** Per-head confusion matrices of a classifier on freshly rendered images of a seed of their own. */
public final class ClassifierAccuracy {
    private static final ShapesWorld CLASSIC = new ShapesWorld(Palette.CLASSIC);
    private static final ShapesWorld DEEP = new ShapesWorld(Palette.DEEP);
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

    /**
     * As {@link #measure}, with the scenes rendered at {@code side} pixels and read the way generated images are
     * (resampled to the classifier's 64x64): a model trained at 128x128 is measured through this path.
     */
    public static Map<Head, ConfusionMatrix> measureRenderedAt(ShapesClassifier classifier, long seed, int count, int side) {
        Map<Head, ConfusionMatrix> m = new EnumMap<>(Head.class);
        for (Head h : Head.values()) m.put(h, ConfusionMatrix.empty(h.labels()));
        SplittableRandom random = new SplittableRandom(seed);
        List<BufferedImage> images = new ArrayList<>(count);
        List<Scene> scenes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ShapesWorld world = random.nextBoolean() ? CLASSIC : DEEP;
            Scene scene = world.randomScene(random);
            scenes.add(scene);
            images.add(world.render(scene, side));
        }
        List<Prediction> predictions = classifier.classify(images);
        for (int i = 0; i < count; i++) {
            for (Head h : Head.values()) m.get(h).add(h.labelOf(scenes.get(i)), predictions.get(i).classOf(h));
        }
        return m;
    }
}
