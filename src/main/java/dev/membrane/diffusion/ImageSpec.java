package dev.membrane.diffusion;

/**
 * One image to generate.
 *
 * @param prompt         what to draw
 * @param negativePrompt the unconditional half of classifier-free guidance ("" when none)
 * @param seed           seed of the image's initial noise (see {@link LatentNoise})
 * @param guidanceScale  this image's guidance scale, or NaN for the request's
 */
public record ImageSpec(String prompt, String negativePrompt, long seed, double guidanceScale) {
    public ImageSpec {
        if (prompt == null) throw new IllegalArgumentException("prompt is required");
        if (negativePrompt == null) negativePrompt = "";
    }

    /** An image with the request's guidance scale. */
    public ImageSpec(String prompt, String negativePrompt, long seed) {
        this(prompt, negativePrompt, seed, Double.NaN);
    }
}
