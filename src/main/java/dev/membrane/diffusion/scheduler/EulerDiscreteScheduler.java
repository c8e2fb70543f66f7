package dev.membrane.diffusion.scheduler;

/**
 * diffusers' {@code EulerDiscreteScheduler} (s_churn = 0, linear interpolation of sigmas): works in
 * σ-space, σ(t) = sqrt((1 - ᾱ_t) / ᾱ_t), feeds the UNet fractional timesteps and a sample scaled by
 * 1/sqrt(σ² + 1).
 */
final class EulerDiscreteScheduler implements Scheduler {
    private final double[] timesteps;
    private final double[] sigmas;
    private final double initNoiseSigma;
    private final String predictionType;

    EulerDiscreteScheduler(SchedulerConfig config, int steps) {
        NoiseSchedule schedule = new NoiseSchedule(config);
        predictionType = config.predictionType();
        int trainSteps = config.numTrainTimesteps();
        TimestepSpacing spacing = TimestepSpacing.parse(config.timestepSpacing(), "scheduler");
        timesteps = new double[steps];
        if (spacing == TimestepSpacing.LINSPACE) {
            for (int i = 0; i < steps; i++) {
                // np.linspace(0, T - 1, n, dtype=float32)[::-1]: not rounded
                timesteps[steps - 1 - i] = (float) (steps == 1 ? 0 : (double) i * (trainSteps - 1) / (steps - 1));
            }
        } else {
            long[] t = TimestepSpacing.integerTimesteps(spacing, trainSteps, steps, config.stepsOffset());
            for (int i = 0; i < steps; i++) timesteps[i] = t[i];
        }
        double[] full = new double[trainSteps];
        for (int t = 0; t < trainSteps; t++) {
            double a = schedule.alphaCumprod(t);
            full[t] = Math.sqrt((1 - a) / a);
        }
        sigmas = new double[steps + 1];
        double max = 0;
        for (int i = 0; i < steps; i++) {
            sigmas[i] = interpolate(full, timesteps[i]);
            max = Math.max(max, sigmas[i]);
        }
        sigmas[steps] = 0.0;
        initNoiseSigma = spacing == TimestepSpacing.LEADING ? Math.sqrt(max * max + 1) : max;
    }

    /** numpy.interp over x = 0..n-1, clamped at both ends. */
    private static double interpolate(double[] values, double x) {
        if (x <= 0) return values[0];
        if (x >= values.length - 1) return values[values.length - 1];
        int lo = (int) Math.floor(x);
        double frac = x - lo;
        return values[lo] + (values[lo + 1] - values[lo]) * frac;
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    /** σ at each call, then the final 0. */
    double[] sigmas() {
        return sigmas.clone();
    }

    @Override
    public double initNoiseSigma() {
        return initNoiseSigma;
    }

    @Override
    public float[] scaleModelInput(float[] sample, int index) {
        double scale = 1.0 / Math.sqrt(sigmas[index] * sigmas[index] + 1);
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) (sample[i] * scale);
        return out;
    }

    @Override
    public float[] step(float[] modelOutput, int index, float[] sample) {
        double sigma = sigmas[index];
        double dt = sigmas[index + 1] - sigma;
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            double x0 = switch (predictionType) {
                case "v_prediction" -> modelOutput[i] * (-sigma / Math.sqrt(sigma * sigma + 1))
                        + sample[i] / (sigma * sigma + 1);
                case "sample" -> modelOutput[i];
                default -> sample[i] - sigma * modelOutput[i];
            };
            double derivative = (sample[i] - x0) / sigma;
            out[i] = (float) (sample[i] + derivative * dt);
        }
        return out;
    }
}
