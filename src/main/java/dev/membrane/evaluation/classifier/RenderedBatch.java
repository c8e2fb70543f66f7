package dev.membrane.evaluation.classifier;

import java.awt.image.BufferedImage;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;

import dev.membrane.world.Palette;
import dev.membrane.world.Scene;
import dev.membrane.world.ShapesWorld;

/**
 * Freshly rendered images with their labels: uniform random scenes (stripes included) in either palette, half and
 * half in expectation, so the classifier knows both the classic world and the deep one a fine-tune moves to.
 *
 * @param pixels planar [count, 3, 64, 64] in [-1, 1]
 * @param labels per head, the class of each image
 */
public record RenderedBatch(int count, float[] pixels, Map<Head, int[]> labels) {
    private static final ShapesWorld CLASSIC = new ShapesWorld(Palette.CLASSIC);
    private static final ShapesWorld DEEP = new ShapesWorld(Palette.DEEP);

    /** {@code count} crisp scenes drawn from {@code random} (palette first, then the scene). */
    public static RenderedBatch draw(SplittableRandom random, int count) {
        return draw(random, count, false);
    }

    /**
     * As {@link #draw(SplittableRandom, int)}; with {@code degrade}, each image then gets a random
     * {@link Degradation} from a stream split off {@code random} first (the scenes are then another draw's).
     */
    public static RenderedBatch draw(SplittableRandom random, int count, boolean degrade) {
        SplittableRandom degradations = degrade ? random.split() : null;
        int side = ClassifierArchitecture.SIDE;
        int per = 3 * side * side;
        float[] pixels = new float[count * per];
        Map<Head, int[]> labels = new EnumMap<>(Head.class);
        for (Head h : Head.values()) labels.put(h, new int[count]);
        for (int i = 0; i < count; i++) {
            DrawnScene drawn = drawScene(random);
            ShapesWorld.toPlanar(drawn.render(side), pixels, i * per);
            if (degrade) Degradation.draw(degradations).apply(pixels, i * per, side, degradations);
            for (Head h : Head.values()) labels.get(h)[i] = h.labelOf(drawn.scene());
        }
        return new RenderedBatch(count, pixels, labels);
    }

    /** One scene and the palette's world that renders it. */
    public record DrawnScene(ShapesWorld world, Scene scene) {
        public BufferedImage render(int side) {
            return world.render(scene, side);
        }
    }

    /** The next scene from {@code random}, palette first (either, half and half), then the scene. */
    public static DrawnScene drawScene(SplittableRandom random) {
        ShapesWorld world = random.nextBoolean() ? CLASSIC : DEEP;
        return new DrawnScene(world, world.randomScene(random));
    }

    /** Per head, [count, classes] one-hot rows. */
    public float[] oneHot(Head head) {
        float[] out = new float[count * head.classes()];
        int[] l = labels.get(head);
        for (int i = 0; i < count; i++) out[i * head.classes() + l[i]] = 1f;
        return out;
    }
}
