package dev.membrane.serving;

/**
 * One image while it runs in a batch: its latents and its position in its own scheduler's timesteps. PNDM makes
 * steps + 1 calls and Euler scales its model input; both are the scheduler's business, per sample, which is what
 * lets samples at different timesteps share a call. Not thread-safe.
 */
final class ActiveSample {
    private final PreparedImage image;
    private final double[] timesteps;
    private float[] latents;
    private int call;

    ActiveSample(PreparedImage image) {
        this.image = image;
        this.timesteps = image.scheduler().timesteps();
        this.latents = image.noise().clone();
    }

    PreparedImage image() {
        return image;
    }

    boolean done() {
        return call == timesteps.length;
    }

    /** The timestep of its next UNet call. */
    double timestep() {
        return timesteps[call];
    }

    /** Its UNet input for the next call. */
    float[] modelInput() {
        return image.scheduler().scaleModelInput(latents, call);
    }

    /** One scheduler step with the (guided) prediction of its next call; the array is kept by multistep samplers. */
    void advance(float[] prediction) {
        latents = image.scheduler().step(prediction, call, latents);
        call++;
    }

    /** Calls made so far. */
    int calls() {
        return call;
    }

    float[] latents() {
        return latents;
    }
}
