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
 * @param guidanceScale classifier-free guidance scale for images that set none; at most 1 disables guidance
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
        for (ImageSpec i : images) {
            double g = i.guidanceScale();
            if (!Double.isNaN(g) && (g < 0 || Double.isInfinite(g))) throw new MembraneException("guidance scale must be a finite number >= 0, got " + g);
        }
    }

    /** Image i's guidance scale: its own, else the request's. */
    public double guidanceOf(int image) {
        double g = images.get(image).guidanceScale();
        return Double.isNaN(g) ? guidanceScale : g;
    }

    /**
     * Whether the UNet batch carries unconditional rows: when any image is guided (scale > 1). An image with scale
     * ≤ 1 in such a batch uses its conditional prediction alone, as diffusers does without guidance.
     */
    public boolean classifierFreeGuidance() {
        for (int i = 0; i < images.size(); i++) if (guidanceOf(i) > 1.0) return true;
        return false;
    }
}
