package dev.membrane.evaluation.classifier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DegradationTest {
    private static final int SIDE = 8;

    /** Left half -1, right half +1, in all three planes. */
    private static float[] edge() {
        float[] p = new float[3 * SIDE * SIDE];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < SIDE; y++)
                for (int x = 0; x < SIDE; x++) p[c * SIDE * SIDE + y * SIDE + x] = x < SIDE / 2 ? -1 : 1;
        return p;
    }

    @Test
    void noneLeavesTheImageAlone() {
        float[] p = edge();
        Degradation.NONE.apply(p, 0, SIDE, new SplittableRandom(1));
        assertArrayEquals(edge(), p);
    }

    @Test
    void blurMatchesAHandComputedGaussianAcrossAnEdge() {
        // sigma 1: radius 3, weights exp(-k^2/2) normalised; at x = 3 (last -1 pixel) the sum over k of w_k * v(3+k)
        double[] w = new double[7];
        double sum = 0;
        for (int k = -3; k <= 3; k++) sum += w[k + 3] = Math.exp(-k * k / 2.0);
        double expected = 0;
        for (int k = -3; k <= 3; k++) expected += w[k + 3] / sum * (3 + k < 4 ? -1 : 1);
        float[] p = edge();
        new Degradation(0, 1, 0, 1, 0, 0, 0, 0).apply(p, 0, SIDE, new SplittableRandom(1));
        assertEquals(expected, p[3], 1e-5);
        assertEquals(-expected, p[4], 1e-5, "symmetric about the edge");
        assertEquals(p[3], p[SIDE * SIDE + 5 * SIDE + 3], 1e-6, "every row and plane alike (vertical pass of a constant column)");
    }

    @Test
    void contrastPullsTowardTheMeanAndOvershootLeavesAHaloThatIsClamped() {
        float[] p = edge();
        new Degradation(0, 0, 0, 0.5, 0, 0, 0, 0).apply(p, 0, SIDE, new SplittableRandom(1));
        assertEquals(-0.5, p[0], 1e-6);
        assertEquals(0.5, p[SIDE - 1], 1e-6);
        float[] h = edge();
        new Degradation(0, 0.8, 1.0, 0.8, 0, 0, 0, 0).apply(h, 0, SIDE, new SplittableRandom(1));
        float min = 0, max = 0;
        for (float v : h) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertTrue(max <= 1 && min >= -1);
        // with the overshoot the bright side's near-edge pixel exceeds its far pixel: a halo
        assertTrue(h[4] > h[SIDE - 1] || h[5] > h[SIDE - 1], java.util.Arrays.toString(java.util.Arrays.copyOf(h, SIDE)));
    }

    @Test
    void theTintMovesTheBackgroundAndLeavesTheShape() {
        // left half is the background (the corner's colour), right half the shape
        float[] p = edge();
        new Degradation(0, 0, 0, 1, 0, 0.2, -0.1, 0.3).apply(p, 0, SIDE, new SplittableRandom(1));
        int plane = SIDE * SIDE;
        assertEquals(-0.8, p[0], 1e-6);
        assertEquals(-1.0, p[plane], 1e-6, "clamped at -1");
        assertEquals(-0.7, p[2 * plane + 3 * SIDE + 2], 1e-6);
        assertEquals(1.0, p[SIDE - 1], 1e-6, "the shape keeps its colour");
        assertEquals(1.0, p[2 * plane + SIDE - 1], 1e-6);
    }

    @Test
    void aWarpMovesPixelsByAtMostItsSizeAndKeepsAConstantImage() {
        float[] flat = new float[3 * SIDE * SIDE];
        java.util.Arrays.fill(flat, 0.25f);
        new Degradation(2, 0, 0, 1, 0, 0, 0, 0).apply(flat, 0, SIDE, new SplittableRandom(4));
        for (float v : flat) assertEquals(0.25f, v, 1e-6);
        // on the edge image, a shift of at most 2 pixels changes nothing further than 2 pixels from the edge
        float[] p = edge();
        new Degradation(2, 0, 0, 1, 0, 0, 0, 0).apply(p, 0, SIDE, new SplittableRandom(4));
        for (int y = 0; y < SIDE; y++) {
            assertEquals(-1, p[y * SIDE + 1], 1e-6);
            assertEquals(1, p[y * SIDE + 6], 1e-6);
        }
        assertNotEquals(java.util.Arrays.hashCode(edge()), java.util.Arrays.hashCode(p), "the edge itself moved");
    }

    @Test
    void drawsAreReproducibleAndDegradedBatchesDiffer() {
        assertEquals(Degradation.draw(new SplittableRandom(3)), Degradation.draw(new SplittableRandom(3)));
        RenderedBatch a = RenderedBatch.draw(new SplittableRandom(9), 6, true);
        RenderedBatch b = RenderedBatch.draw(new SplittableRandom(9), 6, true);
        assertArrayEquals(a.pixels(), b.pixels());
        RenderedBatch crisp = RenderedBatch.draw(new SplittableRandom(9), 6, false);
        assertNotEquals(java.util.Arrays.hashCode(crisp.pixels()), java.util.Arrays.hashCode(a.pixels()));
    }
}
