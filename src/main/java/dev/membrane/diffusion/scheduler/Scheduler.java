package dev.membrane.diffusion.scheduler;

/**
 * One sampler run over a fixed number of inference steps. Stateful (multistep samplers keep past model outputs):
 * create one per generation with {@link SchedulerKind#create}; not thread-safe.
 *
 * <p>All arrays are flat latents of one UNet batch; every sample in the batch shares the timesteps.
 */
public interface Scheduler {
    /** The timestep fed to the UNet at each call, in call order. PNDM repeats one (it makes steps + 1 calls). */
    double[] timesteps();

    /** Standard deviation of the initial noise (1 for DDPM-style samplers, σ_max-based for Euler). */
    double initNoiseSigma();

    /** The UNet input for call {@code index}: the sample itself, or scaled (Euler divides by sqrt(σ² + 1)). */
    float[] scaleModelInput(float[] sample, int index);

    /** The sample after call {@code index}, given the (guided) model output for it. Returns a new array. */
    float[] step(float[] modelOutput, int index, float[] sample);
}
