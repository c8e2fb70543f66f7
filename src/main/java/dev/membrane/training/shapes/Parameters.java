package dev.membrane.training.shapes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.optimizer.AdamW;
import ai.djl.training.tracker.Tracker;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The learnable tensors of one network under training, with DJL's native AdamW (PyTorch's decoupled weight decay;
 * the state lives in the engine, not in Java arrays, because a whole UNet is millions of values per step) and an
 * exponential moving average of the weights, which is what gets exported: diffusion models sample markedly better
 * from EMA weights than from the last step's.
 */
final class Parameters {
    private final Map<String, NDArray> live = new LinkedHashMap<>();
    private final Map<String, NDArray> ema = new LinkedHashMap<>();
    private final AdamW optimizer;
    private final float emaDecay;
    private int steps;
    private final NDManager emaManager;

    /**
     * @param tensors  name → array; each is marked as requiring gradients
     * @param schedule learning rate by update count
     * @param emaDecay per-step decay of the average (0 disables it: the live weights are exported)
     */
    Parameters(Map<String, NDArray> tensors, Tracker schedule, float weightDecay, float emaDecay, NDManager manager) {
        this.optimizer = AdamW.builder().optLearningRateTracker(schedule).optWeightDecays(weightDecay).optClipGrad(1f).build();
        this.emaDecay = emaDecay;
        this.emaManager = manager.newSubManager();
        tensors.forEach((name, a) -> {
            a.setRequiresGradient(true);
            live.put(name, a);
            if (emaDecay > 0) ema.put(name, a.duplicate().stopGradient());
        });
        ema.values().forEach(a -> a.attach(emaManager));
    }

    long count() {
        return count(live);
    }

    static long count(Map<String, NDArray> tensors) {
        return tensors.values().stream().mapToLong(NDArray::size).sum();
    }

    /** One optimizer step from the gradients of the last backward pass, which are then zeroed. */
    void step() {
        for (Map.Entry<String, NDArray> e : live.entrySet()) {
            NDArray w = e.getValue();
            NDArray g = w.getGradient();
            optimizer.update(e.getKey(), w, g);
            g.subi(g);
            g.close();
        }
        steps++;
        if (emaDecay > 0) {
            // warm-up as in common EMA practice: early on the average forgets fast, else a run of ~1000 steps at
            // 0.998 would still export 13% of the random initial weights
            float decay = Math.min(emaDecay, (1f + steps) / (10f + steps));
            for (Map.Entry<String, NDArray> e : ema.entrySet()) {
                NDArray avg = e.getValue();
                // the scaled copy joins the live weight's manager: close it now, not with the twin
                try (NDArray share = live.get(e.getKey()).mul(1 - decay)) {
                    avg.muli(decay).addi(share);
                }
            }
        }
    }

    /** The values to export: the moving average where kept, else the live weights. */
    Map<String, float[]> exported() {
        Map<String, float[]> out = new LinkedHashMap<>();
        (emaDecay > 0 ? ema : live).forEach((k, a) -> out.put(k, a.toFloatArray()));
        return out;
    }

    void close() {
        emaManager.close();
    }
}
