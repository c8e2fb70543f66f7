package dev.membrane.training;

/**
 * diffusers' {@code get_cosine_with_hard_restarts_schedule_with_warmup}, the official recipe's
 * {@code cosine_with_restarts}: linear warm-up from 0, then {@code cycles} cosine decays to 0, each restarting at the
 * base rate. Iteration i (0-based) trains at {@link #at(long)}; as in PyTorch the first warm-up step has rate 0.
 *
 * @param baseRate   lr
 * @param warmup     warm-up iterations
 * @param total      iterations of the run
 * @param cycles     hard restarts
 */
public record LearningRateSchedule(double baseRate, int warmup, int total, int cycles) {
    public double at(long iteration) {
        if (iteration < warmup) return baseRate * iteration / Math.max(1, warmup);
        double progress = (iteration - warmup) / (double) Math.max(1, total - warmup);
        if (progress >= 1) return 0;
        return baseRate * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((cycles * progress) % 1.0))));
    }
}
