package dev.membrane.diffusion.scheduler;

/**
 * What DDIM and PNDM share: integer timesteps from the config's spacing, unit initial noise, the model input
 * unscaled, and ᾱ at the previous timestep falling back to the final alpha (1 with {@code set_alpha_to_one},
 * else ᾱ_0) once it runs past 0.
 */
abstract class DiscreteScheduler implements Scheduler {
    final SchedulerConfig config;
    final NoiseSchedule schedule;
    final int stepRatio;
    private final double finalAlphaCumprod;
    final long[] descending;

    DiscreteScheduler(SchedulerConfig config, int steps) {
        this.config = config;
        schedule = new NoiseSchedule(config);
        finalAlphaCumprod = config.setAlphaToOne() ? 1.0 : schedule.alphaCumprod(0);
        stepRatio = config.numTrainTimesteps() / steps;
        descending = TimestepSpacing.integerTimesteps(TimestepSpacing.parse(config.timestepSpacing(), "scheduler"),
                config.numTrainTimesteps(), steps, config.stepsOffset());
    }

    /** ᾱ_t, or the final alpha for t < 0. */
    double alphaAt(int t) {
        return t >= 0 ? schedule.alphaCumprod(t) : finalAlphaCumprod;
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    @Override
    public float[] scaleModelInput(float[] sample, int index) {
        return sample;
    }
}
