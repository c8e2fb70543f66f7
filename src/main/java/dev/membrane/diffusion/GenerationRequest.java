package dev.membrane.diffusion;

import java.util.List;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.scheduler.SchedulerKind;

/**
 * Images that share one denoising run (one UNet batch per step).
 *
 * @param images        prompts and seeds, one per image
 * @param width         image width in pixels, a multiple of 8
 * @param height        image height in pixels, a multiple of 8
 * @param steps         inference steps
 * @param guidanceScale classifier-free guidance scale; at most 1 disables guidance (no unconditional half)
 * @param scheduler     sampler
 */
public record GenerationRequest(List<ImageSpec> images, int width, int height, int steps, double guidanceScale,
                                SchedulerKind scheduler) {
    public GenerationRequest {
        images = List.copyOf(images);
        if (images.isEmpty()) throw new MembraneException("at least one image is required");
        if (width <= 0 || height <= 0 || width % 8 != 0 || height % 8 != 0) {
            throw new MembraneException("width and height must be positive multiples of 8, got " + width + "x" + height);
        }
        if (steps < 1) throw new MembraneException("steps must be at least 1, got " + steps);
        if (!(guidanceScale >= 0) || Double.isInfinite(guidanceScale)) {
            throw new MembraneException("guidance scale must be a finite number >= 0, got " + guidanceScale);
        }
    }

    public boolean classifierFreeGuidance() {
        return guidanceScale > 1.0;
    }
}
