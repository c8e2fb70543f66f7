package dev.membrane.testing;

import java.util.Random;

/** Numeric helpers the parity tests share. */
public final class Numeric {
    private Numeric() {
    }

    /** {@code n} values N(0, scale²) from {@code java.util.Random(seed)}. */
    public static float[] gaussian(long seed, int n, double scale) {
        Random r = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (r.nextGaussian() * scale);
        return out;
    }

    /** ‖actual − expected‖ / ‖expected‖. */
    public static double relative(float[] actual, float[] expected) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < actual.length; i++) {
            num += (actual[i] - expected[i]) * (double) (actual[i] - expected[i]);
            den += expected[i] * (double) expected[i];
        }
        return Math.sqrt(num / den);
    }
}
