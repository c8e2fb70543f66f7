package dev.membrane.evaluation.classifier;

import java.util.SplittableRandom;

/**
 * What a diffusion model's decoder does to a rendered image, drawn at random for classifier training: Gaussian
 * blur (soft edges), an unsharp-mask overshoot (the light halo the shapes model's decoder leaves around a shape),
 * reduced contrast (white backgrounds come out light gray), a tinted background (its black comes out dark green or
 * purple) and pixel noise. The shape's own hue is never shifted, so orange stays orange and the colour head learns
 * nothing lenient. A classifier trained on crisp renders alone read the shapes
 * model's soft-edged stars as crosses (see README "Evaluation").
 *
 * @param warp       elastic displacement, in pixels: a random field smoothed over {@link #WARP_SMOOTHING} pixels and
 *                   scaled so its largest shift is {@code warp} (the decoder's wobbly outlines; 0 = none)
 * @param blurSigma  Gaussian blur, in pixels of the 64x64 image (0 = none)
 * @param overshoot  unsharp-mask amount over the blurred image: x + overshoot (x - blur2(x)), 0 = none
 * @param contrast   1 = unchanged; below 1 pulls every channel toward the image's mean
 * @param noiseSigma additive Gaussian noise on the [-1, 1] scale
 * @param tintRed    added to the red channel of background pixels (those matching the top-left corner's colour)
 * @param tintGreen  likewise, green
 * @param tintBlue   likewise, blue
 */
public record Degradation(double warp, double blurSigma, double overshoot, double contrast, double noiseSigma,
                          double tintRed, double tintGreen, double tintBlue) {
    public static final Degradation NONE = new Degradation(0, 0, 0, 1, 0, 0, 0, 0);
    /** Largest background tint per channel, on the [-1, 1] scale (0.3 is about 38 of 255). */
    static final double MAX_TINT = 0.3;
    /** The displacement field's smoothing (Gaussian sigma, pixels of the 64x64 image). */
    static final double WARP_SMOOTHING = 5;
    /** The share of training images left crisp. */
    static final double CRISP_SHARE = 0.2;

    /** A random degradation (or, with probability {@link #CRISP_SHARE}, none). */
    public static Degradation draw(SplittableRandom random) {
        if (random.nextDouble() < CRISP_SHARE) return NONE;
        double warp = random.nextDouble(0, 3.0);
        double blur = random.nextDouble(0, 1.6);
        double overshoot = random.nextDouble() < 0.5 ? random.nextDouble(0, 1.0) : 0;
        double contrast = random.nextDouble(0.7, 1.0);
        double noise = random.nextDouble(0, 0.06);
        boolean tinted = random.nextDouble() < 0.5;
        return new Degradation(warp, blur, overshoot, contrast, noise, tinted ? random.nextDouble(-MAX_TINT, MAX_TINT) : 0,
                tinted ? random.nextDouble(-MAX_TINT, MAX_TINT) : 0, tinted ? random.nextDouble(-MAX_TINT, MAX_TINT) : 0);
    }

    /** Degrades one planar [3, side, side] image in place, at {@code offset}; noise from {@code random}. */
    public void apply(float[] planar, int offset, int side, SplittableRandom random) {
        int plane = side * side;
        if (warp > 0) warp(planar, offset, side, random);
        float[] background = backgroundWeights(planar, offset, plane);
        double[] tint = {tintRed, tintGreen, tintBlue};
        float[] channel = new float[plane];
        for (int c = 0; c < 3; c++) {
            int at = offset + c * plane;
            System.arraycopy(planar, at, channel, 0, plane);
            if (tint[c] != 0) {
                for (int i = 0; i < plane; i++) channel[i] = (float) Math.max(-1, Math.min(1, channel[i] + tint[c] * background[i]));
            }
            float[] out = blurSigma > 0 ? blur(channel, side, blurSigma) : channel.clone();
            if (overshoot > 0) {
                float[] wide = blur(out, side, 1.5);
                for (int i = 0; i < plane; i++) out[i] += (float) (overshoot * (out[i] - wide[i]));
            }
            if (contrast != 1) {
                double mean = 0;
                for (float v : out) mean += v;
                mean /= plane;
                for (int i = 0; i < plane; i++) out[i] = (float) (mean + contrast * (out[i] - mean));
            }
            for (int i = 0; i < plane; i++) {
                double v = out[i] + (noiseSigma > 0 ? noiseSigma * random.nextGaussian() : 0);
                planar[at + i] = (float) Math.max(-1, Math.min(1, v));
            }
        }
    }

    /** Resamples the image (bilinear, edges clamped) through a smooth random displacement field of largest shift {@link #warp}. */
    private void warp(float[] planar, int offset, int side, SplittableRandom random) {
        int plane = side * side;
        float[] dx = new float[plane];
        float[] dy = new float[plane];
        for (int i = 0; i < plane; i++) {
            dx[i] = (float) random.nextGaussian();
            dy[i] = (float) random.nextGaussian();
        }
        dx = blur(dx, side, WARP_SMOOTHING);
        dy = blur(dy, side, WARP_SMOOTHING);
        double largest = 1e-9;
        for (int i = 0; i < plane; i++) largest = Math.max(largest, Math.hypot(dx[i], dy[i]));
        double scale = warp / largest;
        float[] source = java.util.Arrays.copyOfRange(planar, offset, offset + 3 * plane);
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                int i = y * side + x;
                double sx = Math.max(0, Math.min(side - 1, x + scale * dx[i]));
                double sy = Math.max(0, Math.min(side - 1, y + scale * dy[i]));
                int x0 = (int) sx, y0 = (int) sy;
                int x1 = Math.min(side - 1, x0 + 1), y1 = Math.min(side - 1, y0 + 1);
                double fx = sx - x0, fy = sy - y0;
                for (int c = 0; c < 3; c++) {
                    int b = c * plane;
                    double top = source[b + y0 * side + x0] * (1 - fx) + source[b + y0 * side + x1] * fx;
                    double bottom = source[b + y1 * side + x0] * (1 - fx) + source[b + y1 * side + x1] * fx;
                    planar[offset + b + i] = (float) (top * (1 - fy) + bottom * fy);
                }
            }
        }
    }

    /**
     * Per pixel, how much it is background: 1 where it has the top-left corner's colour (shapes never reach a corner),
     * falling to 0 at a distance of 0.3 (antialiased edges in between, stripes' white and the shape at 0).
     */
    static float[] backgroundWeights(float[] planar, int offset, int plane) {
        float[] w = new float[plane];
        for (int i = 0; i < plane; i++) {
            double d = 0;
            for (int c = 0; c < 3; c++) d = Math.max(d, Math.abs(planar[offset + c * plane + i] - planar[offset + c * plane]));
            w[i] = (float) Math.max(0, 1 - d / 0.3);
        }
        return w;
    }

    /** Separable Gaussian blur, edges clamped. */
    static float[] blur(float[] image, int side, double sigma) {
        int radius = Math.max(1, (int) Math.ceil(3 * sigma));
        float[] kernel = new float[2 * radius + 1];
        double sum = 0;
        for (int k = -radius; k <= radius; k++) sum += kernel[k + radius] = (float) Math.exp(-k * k / (2 * sigma * sigma));
        for (int k = 0; k < kernel.length; k++) kernel[k] /= (float) sum;
        float[] rows = new float[image.length];
        float[] out = new float[image.length];
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                double acc = 0;
                for (int k = -radius; k <= radius; k++) acc += kernel[k + radius] * image[y * side + clamp(x + k, side)];
                rows[y * side + x] = (float) acc;
            }
        }
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                double acc = 0;
                for (int k = -radius; k <= radius; k++) acc += kernel[k + radius] * rows[clamp(y + k, side) * side + x];
                out[y * side + x] = (float) acc;
            }
        }
        return out;
    }

    private static int clamp(int i, int side) {
        return Math.max(0, Math.min(side - 1, i));
    }
}
