package dev.membrane.training.shapes;

import ai.djl.training.tracker.Tracker;

/** Linear warm-up to the peak, then cosine decay to a tenth of it at the last step. */
record LearningRate(float peak, int warmup, int total) implements Tracker {
    @Override
    public float getNewValue(int update) {
        if (update < warmup) return peak * (update + 1) / warmup;
        double progress = Math.min(1.0, (update - warmup) / (double) Math.max(1, total - warmup));
        return (float) (peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress))));
    }
}
