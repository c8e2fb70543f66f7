package dev.membrane.diffusion;

import java.util.List;

/**
 * What a generation produced.
 *
 * @param images  one PNG per requested image, in request order
 * @param timings time per stage
 */
public record GenerationResult(List<GeneratedImage> images, StageTimings timings) {

    /**
     * @param spec   the request's image
     * @param png    PNG bytes
     * @param width  pixels
     * @param height pixels
     */
    public record GeneratedImage(ImageSpec spec, byte[] png, int width, int height) {
    }

    /**
     * Wall-clock milliseconds per stage.
     *
     * @param tokenizeMs   tokenizer
     * @param textEncodeMs text encoder
     * @param denoiseMs    the whole UNet loop (scheduler included)
     * @param decodeMs     VAE decoder
     * @param pngMs        PNG encoding
     * @param unetCallMs   each UNet call, in order
     */
    public record StageTimings(double tokenizeMs, double textEncodeMs, double denoiseMs, double decodeMs,
                               double pngMs, List<Double> unetCallMs) {
        public double totalMs() {
            return tokenizeMs + textEncodeMs + denoiseMs + decodeMs + pngMs;
        }

        /** Median time of one UNet call. */
        public double medianUNetCallMs() {
            if (unetCallMs.isEmpty()) return 0;
            double[] sorted = unetCallMs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            int n = sorted.length;
            return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        }
    }
}
