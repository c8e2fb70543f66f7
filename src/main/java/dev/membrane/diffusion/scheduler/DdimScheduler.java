package dev.membrane.diffusion.scheduler;

/** diffusers' {@code DDIMScheduler} with eta = 0: deterministic, one UNet call per step. */
final class DdimScheduler implements Scheduler {
    private final NoiseSchedule schedule;
    private final SchedulerConfig config;
    private final double finalAlphaCumprod;
    private final int stepRatio;
    private final double[] timesteps;

    DdimScheduler(SchedulerConfig config, int steps) {
        this.config = config;
        schedule = new NoiseSchedule(config);
        finalAlphaCumprod = config.setAlphaToOne() ? 1.0 : schedule.alphaCumprod(0);
        stepRatio = config.numTrainTimesteps() / steps;
        long[] t = TimestepSpacing.integerTimesteps(TimestepSpacing.parse(config.timestepSpacing(), "scheduler"),
                config.numTrainTimesteps(), steps, config.stepsOffset());
        timesteps = new double[t.length];
        for (int i = 0; i < t.length; i++) timesteps[i] = t[i];
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    @Override
    public float[] scaleModelInput(float[] sample, int index) {
        return sample;
    }

    @Override
    public float[] step(float[] modelOutput, int index, float[] sample) {
        int t = (int) timesteps[index];
        int prev = t - stepRatio;
        double a = schedule.alphaCumprod(t);
        double aPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod;
        double b = 1 - a;
        double sa = Math.sqrt(a);
        double sb = Math.sqrt(b);
        double range = config.clipSampleRange();
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            double x0;
            double eps;
            switch (config.predictionType()) {
                case "v_prediction" -> {
                    x0 = sa * sample[i] - sb * modelOutput[i];
                    eps = sa * modelOutput[i] + sb * sample[i];
                }
                case "sample" -> {
                    x0 = modelOutput[i];
                    eps = (sample[i] - sa * x0) / sb;
                }
                default -> {
                    x0 = (sample[i] - sb * modelOutput[i]) / sa;
                    eps = modelOutput[i];
                }
            }
            if (config.clipSample()) {
                x0 = Math.max(-range, Math.min(range, x0));
                // diffusers recomputes epsilon from the clipped x0
                eps = (sample[i] - sa * x0) / sb;
            }
            out[i] = (float) (Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev) * eps);
        }
        return out;
    }
}
