package dev.membrane.diffusion;

/**
 * One image to generate.
 *
 * @param prompt         what to draw
 * @param negativePrompt the unconditional half of classifier-free guidance ("" when none)
 * @param seed           seed of the image's initial noise (see {@link LatentNoise})
 */
public record ImageSpec(String prompt, String negativePrompt, long seed) {
    public ImageSpec {
        if (prompt == null) throw new IllegalArgumentException("prompt is required");
        if (negativePrompt == null) negativePrompt = "";
    }
}
