package dev.membrane.training;

import java.util.SplittableRandom;

/** Standard normal draws by Box-Muller over a {@link SplittableRandom}, whose algorithm is specified: same seed, same values. */
public final class Gaussian {
    private Gaussian() {
    }

    public static float[] fill(SplittableRandom r, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i += 2) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            double radius = Math.sqrt(-2 * Math.log(u1));
            out[i] = (float) (radius * Math.cos(2 * Math.PI * u2));
            if (i + 1 < n) out[i + 1] = (float) (radius * Math.sin(2 * Math.PI * u2));
        }
        return out;
    }
}
