package dev.membrane.diffusion.scheduler;

/** diffusers' {@code DDIMScheduler} with eta = 0: deterministic, one UNet call per step. */
final class DdimScheduler extends DiscreteScheduler {
    private final double[] timesteps;

    DdimScheduler(SchedulerConfig config, int steps) {
        super(config, steps);
        timesteps = new double[descending.length];
        for (int i = 0; i < descending.length; i++) timesteps[i] = descending[i];
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public float[] step(float[] modelOutput, int index, float[] sample) {
        int t = (int) timesteps[index];
        int prev = t - stepRatio;
        double a = schedule.alphaCumprod(t);
        double aPrev = alphaAt(prev);
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
