package dev.membrane.training;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * PyTorch's {@code AdamW} (decoupled weight decay, bias-corrected moments) over the SPM's Java arrays, in double
 * arithmetic per element. The official recipe uses bitsandbytes' AdamW8bit with the same defaults (betas 0.9/0.999,
 * eps 1e-8, weight decay 0.01); its 8-bit state is a memory saving, not part of the method, so the state here is fp32.
 * The state (step, m, v) is what a checkpoint stores to resume exactly.
 */
public final class AdamW {
    public static final double BETA1 = 0.9;
    public static final double BETA2 = 0.999;
    public static final double EPS = 1e-8;
    public static final double WEIGHT_DECAY = 0.01;

    private final Map<String, float[]> m = new LinkedHashMap<>();
    private final Map<String, float[]> v = new LinkedHashMap<>();
    private long step;

    /** One step on every parameter with its gradient at learning rate {@code lr}. */
    public void update(Map<String, float[]> params, Map<String, float[]> grads, double lr) {
        step++;
        double c1 = 1 - Math.pow(BETA1, step);
        double c2 = Math.sqrt(1 - Math.pow(BETA2, step));
        for (Map.Entry<String, float[]> e : params.entrySet()) {
            float[] p = e.getValue();
            float[] g = grads.get(e.getKey());
            if (g == null) throw new IllegalArgumentException("no gradient for " + e.getKey());
            float[] mm = m.computeIfAbsent(e.getKey(), k -> new float[p.length]);
            float[] vv = v.computeIfAbsent(e.getKey(), k -> new float[p.length]);
            for (int i = 0; i < p.length; i++) {
                double pi = p[i] * (1 - lr * WEIGHT_DECAY);
                double mi = BETA1 * mm[i] + (1 - BETA1) * g[i];
                double vi = BETA2 * vv[i] + (1 - BETA2) * g[i] * (double) g[i];
                mm[i] = (float) mi;
                vv[i] = (float) vi;
                p[i] = (float) (pi - lr / c1 * mi / (Math.sqrt(vi) / c2 + EPS));
            }
        }
    }

    public long step() {
        return step;
    }

    /** First and second moments by parameter name (live). */
    public Map<String, float[]> firstMoments() {
        return m;
    }

    public Map<String, float[]> secondMoments() {
        return v;
    }

    /** Restores a checkpointed state. */
    public void restore(long step, Map<String, float[]> first, Map<String, float[]> second) {
        this.step = step;
        m.clear();
        v.clear();
        first.forEach((k, a) -> m.put(k, a.clone()));
        second.forEach((k, a) -> v.put(k, a.clone()));
    }
}
