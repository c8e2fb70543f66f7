package dev.membrane.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

import dev.membrane.diffusion.Denoiser;
import dev.membrane.diffusion.scheduler.Scheduler;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.training.twin.SiteAdapters;
import dev.membrane.training.twin.UNetTwin;

/**
 * UNet calls of the training recipe on the twin: batched predictions for one latent under several contexts, and the
 * no-grad DDIM trajectory with classifier-free guidance (used where no served trajectory is given). DDIM is configured as the official trainer configures it:
 * the model's betas, {@code steps_offset} 0, {@code set_alpha_to_one}, leading spacing, no clipping, eta 0.
 */
final class TwinSampler implements Trajectory {
    private final UNetTwin twin;
    private final SchedulerConfig ddim;
    private final int side;
    private final Conditioning conditioning;
    private final double[] trainingTimesteps;

    TwinSampler(UNetTwin twin, SchedulerConfig model, int side, Conditioning conditioning) {
        this.twin = twin;
        this.side = side;
        this.conditioning = conditioning;
        ddim = new SchedulerConfig("DDIMScheduler", model.numTrainTimesteps(), model.betaStart(), model.betaEnd(),
                model.betaSchedule(), model.predictionType(), "leading", 0, true, true, false, 1.0);
        trainingTimesteps = SchedulerKind.DDIM.create(ddim, ddim.numTrainTimesteps()).timesteps();
    }

    int latentElements() {
        return 4 * side * side;
    }

    /** The trajectory schedule (e.g. 30 steps: 957, 924, …, 0). */
    Scheduler trajectory(int steps) {
        return SchedulerKind.DDIM.create(ddim, steps);
    }

    /** The 1000-step timesteps the training timestep is picked from (999 … 0). */
    double[] trainingTimesteps() {
        return trainingTimesteps.clone();
    }

    /** Predictions for one latent under {@code contexts} (each [length, width]), batched, in {@code m}. */
    NDArray predict(NDManager m, float[] latent, double t, List<float[]> contexts, SiteAdapters adapters) {
        int b = contexts.size();
        int n = conditioning.elements();
        float[] ctx = new float[b * n];
        for (int i = 0; i < b; i++) System.arraycopy(contexts.get(i), 0, ctx, i * n, n);
        NDArray x = m.create(latent, new Shape(1, 4, side, side)).repeat(0, b);
        float[] ts = new float[b];
        java.util.Arrays.fill(ts, (float) t);
        return twin.predict(x, m.create(ts), m.create(ctx, new Shape(b, conditioning.length(), conditioning.width())), adapters);
    }

    /** ε_neu − η(ε_pos − ε_neu) from one latent's predictions; {@code pos} and {@code neu} are rows of {@code rows}. */
    float[] eraseTarget(float[] rows, int pos, int neu, double eta) {
        int n = latentElements();
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (rows[neu * n + i] - eta * (rows[pos * n + i] - rows[neu * n + i]));
        return out;
    }

    /** Same, as arrays, with the activations freed at once. */
    float[] predictValues(NDManager parent, float[] latent, double t, List<float[]> contexts, SiteAdapters adapters) {
        try (NDManager m = parent.newSubManager()) {
            return predict(m, latent, t, contexts, adapters).toFloatArray();
        }
    }

    /** The trajectory on the twin itself (where no served engine is at hand). */
    @Override
    public float[] denoise(float[] noise, int steps, int total, float[] cond, double g, SpmParameters spm) {
        try (NDManager m = twin.manager().newSubManager()) {
            SiteAdapters adapters = spm == null ? SiteAdapters.NONE : spm.bind(m, 1, false);
            Scheduler s = trajectory(total);
            double[] ts = s.timesteps();
            float[] latent = noise;
            List<float[]> pair = List.of(conditioning.unconditional(), cond);
            for (int k = 0; k < steps; k++) {
                latent = s.step(Denoiser.guide(predictValues(m, latent, ts[k], pair, adapters), new double[] {g}), k, latent);
            }
            return latent;
        }
    }
}
