package dev.membrane.diffusion;

import java.util.Random;

/**
 * Seeded initial latents. Each image's noise comes from its own {@code java.util.Random(seed)} (a 48-bit linear
 * congruential generator whose {@code nextGaussian} polar method is fixed by the JDK's specification), drawn in
 * [4, h, w] row-major order. An image's noise thus depends only on its seed and size, never on the batch it
 * shares, and the same seed gives the same latents on every JVM.
 */
public final class LatentNoise {
    private LatentNoise() {
    }

    /** 4·h·w standard normal values for one image, scaled by {@code sigma}. */
    public static float[] gaussian(long seed, int latentHeight, int latentWidth, double sigma) {
        Random random = new Random(seed);
        float[] out = new float[4 * latentHeight * latentWidth];
        for (int i = 0; i < out.length; i++) out[i] = (float) (random.nextGaussian() * sigma);
        return out;
    }
}
