package dev.membrane.training;

/**
 * The recipe's sampling trajectory: {@code steps} DDIM steps of the {@code total}-step schedule from {@code noise},
 * guided with scale {@code g} on ("", cond), without gradients, with the SPM active on both halves (the official
 * {@code with network}); {@code spm == null} runs the base model.
 */
interface Trajectory {
    float[] denoise(float[] noise, int steps, int total, float[] cond, double g, SpmParameters spm);
}
