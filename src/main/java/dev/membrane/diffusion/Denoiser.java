package dev.membrane.diffusion;

import ai.onnxruntime.OnnxTensor;
import java.util.List;
import java.util.Map;

import dev.membrane.diffusion.scheduler.Scheduler;

/**
 * The UNet loop with classifier-free guidance, as diffusers runs it: at each scheduler timestep the latents are
 * duplicated into one UNet batch [unconditional…, conditional…], and the prediction is
 * {@code uncond + g · (cond − uncond)}. Without guidance the batch holds the conditional half only.
 * Thread-safe (state lives in the call).
 */
public final class Denoiser {
    private final UNetModel unet;

    public Denoiser(UNetModel unet) {
        this.unet = unet;
    }

    public UNetModel unet() {
        return unet;
    }

    /**
     * Runs every step and returns the final latents [B, 4, h, w].
     *
     * @param latents       initial latents for B images (already scaled by the scheduler's init sigma)
     * @param latentShape   {B, 4, h, w}
     * @param context       embeddings: 2B rows [uncond…, cond…] with guidance, else B rows
     * @param guidanceScale g per image; guidance is on when context has 2B rows (g = 1 gives the conditional prediction)
     * @param scheduler     a fresh scheduler for this run
     * @param extraFeeds    additional UNet inputs for the whole 2B (or B) batch, e.g. adapter slots
     * @param unetCallMs    receives each UNet call's duration
     */
    public float[] denoise(float[] latents, long[] latentShape, TextEmbeddings context, double[] guidanceScale,
                           Scheduler scheduler, Map<String, OnnxTensor> extraFeeds, List<Double> unetCallMs) {
        return denoise(latents, latentShape, context, guidanceScale, scheduler, scheduler.timesteps().length, extraFeeds, unetCallMs);
    }

    /** As above, stopping after the first {@code steps} scheduler steps (a partial trajectory, as SPM training samples). */
    public float[] denoise(float[] latents, long[] latentShape, TextEmbeddings context, double[] guidanceScale,
                           Scheduler scheduler, int steps, Map<String, OnnxTensor> extraFeeds, List<Double> unetCallMs) {
        int batch = (int) latentShape[0];
        boolean guided = context.batch() == 2 * batch;
        if (!guided && context.batch() != batch) {
            throw new IllegalArgumentException(context.batch() + " embeddings for " + batch + " latents");
        }
        long[] unetShape = latentShape.clone();
        unetShape[0] = context.batch();
        double[] timesteps = scheduler.timesteps();
        float[] x = latents;
        for (int i = 0; i < Math.min(steps, timesteps.length); i++) {
            float[] in = scheduler.scaleModelInput(x, i);
            float[] unetIn = guided ? twice(in) : in;
            long start = System.nanoTime();
            float[] noise = unet.predict(unetIn, unetShape, timesteps[i], context, extraFeeds);
            unetCallMs.add((System.nanoTime() - start) / 1e6);
            x = scheduler.step(guided ? guide(noise, guidanceScale) : noise, i, x);
        }
        return x;
    }

    private static float[] twice(float[] a) {
        float[] out = new float[a.length * 2];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(a, 0, out, a.length, a.length);
        return out;
    }

    /** uncond + g_b (cond − uncond) for each image b, uncond being the first half of the batch. */
    public static float[] guide(float[] noise, double[] g) {
        int half = noise.length / 2;
        int perImage = half / g.length;
        float[] out = new float[half];
        for (int b = 0; b < g.length; b++) guideInto(noise, b * perImage, half + b * perImage, perImage, g[b], out, b * perImage);
        return out;
    }

    /**
     * One image's guided prediction, {@code out[outFrom + i] = uncond + g (cond − uncond)} for n values read at
     * {@code uncondFrom} and {@code condFrom}: the arithmetic of {@link #guide}, for batches whose rows are not laid
     * out as two halves (continuous batching).
     */
    public static void guideInto(float[] noise, int uncondFrom, int condFrom, int n, double g, float[] out, int outFrom) {
        for (int i = 0; i < n; i++) {
            float u = noise[uncondFrom + i];
            out[outFrom + i] = (float) (u + g * (noise[condFrom + i] - u));
        }
    }
}
