package dev.membrane.serving;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.spm.AdapterPipeline;

/**
 * One request as the serving engine takes it: its images share size, steps, scheduler and one adapter stack.
 * Build it with {@link #builder(String)}.
 *
 * @param id            the caller's request id (reported back on its outcome)
 * @param images        prompts and seeds, one per image
 * @param width         pixels, a multiple of 8
 * @param height        pixels, a multiple of 8
 * @param steps         inference steps
 * @param scheduler     sampler
 * @param guidanceScale guidance for images that set none (NaN on the image); at most 1 means unguided
 * @param stack         the adapter stack every image of the request carries
 */
public record RequestSpec(String id, List<ImageSpec> images, int width, int height, int steps, SchedulerKind scheduler,
                          double guidanceScale, AdapterPipeline.ImageStack stack) {
    public RequestSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(stack, "stack");
        images = List.copyOf(images);
        // the same checks (and messages) as a whole-batch generation
        new GenerationRequest(images, width, height, steps, guidanceScale, scheduler);
    }

    /** This request as the existing whole-batch pipeline takes it (the reference for tests and for STATIC runs). */
    public GenerationRequest generationRequest() {
        return new GenerationRequest(images, width, height, steps, guidanceScale, scheduler);
    }

    /** Image i's guidance scale: its own, else the request's. */
    public double guidanceOf(int image) {
        double g = images.get(image).guidanceScale();
        return Double.isNaN(g) ? guidanceScale : g;
    }

    public static Builder builder(String id) {
        return new Builder(id);
    }

    /** Defaults: 512x512, 30 steps, PNDM, guidance 7.5, no adapters. */
    public static final class Builder {
        private final String id;
        private final List<ImageSpec> images = new ArrayList<>();
        private int width = 512;
        private int height = 512;
        private int steps = 30;
        private SchedulerKind scheduler = SchedulerKind.PNDM;
        private double guidanceScale = 7.5;
        private AdapterPipeline.ImageStack stack = AdapterPipeline.ImageStack.none();

        private Builder(String id) {
            this.id = id;
        }

        public Builder image(ImageSpec image) {
            images.add(image);
            return this;
        }

        public Builder images(List<ImageSpec> all) {
            images.addAll(all);
            return this;
        }

        public Builder size(int widthPx, int heightPx) {
            width = widthPx;
            height = heightPx;
            return this;
        }

        public Builder steps(int n) {
            steps = n;
            return this;
        }

        public Builder scheduler(SchedulerKind kind) {
            scheduler = kind;
            return this;
        }

        public Builder guidanceScale(double g) {
            guidanceScale = g;
            return this;
        }

        public Builder stack(AdapterPipeline.ImageStack s) {
            stack = s;
            return this;
        }

        public RequestSpec build() {
            return new RequestSpec(id, images, width, height, steps, scheduler, guidanceScale, stack);
        }
    }
}
