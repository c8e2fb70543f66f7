package dev.membrane.bench;

import ai.onnxruntime.OnnxTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One UNet call over a batch whose samples all carry different stacks, against the same batch where every sample
 * carries the same stack (same number of adapters per sample), alternating.
 */
final class MixedBatch {
    private MixedBatch() {
    }

    /** [uniform, mixed] call times. */
    static Stats[] measure(UNetBench bench, int batch, int adaptersPerSample, int warmup, int reps, Consumer<String> progress) {
        UNetBench.Inputs in = bench.inputs(batch);
        Map<String, OnnxTensor> uniform = bench.feeds(bench.stacks(batch, adaptersPerSample, b -> 0));
        Map<String, OnnxTensor> mixed = bench.feeds(bench.stacks(batch, adaptersPerSample, b -> b * adaptersPerSample));
        List<Double> u = new ArrayList<>();
        List<Double> m = new ArrayList<>();
        try {
            for (int rep = -warmup; rep < reps; rep++) {
                double a = bench.runPrepared(in, uniform);
                double b = bench.runPrepared(in, mixed);
                if (rep >= 0) {
                    u.add(a);
                    m.add(b);
                    progress.accept("mixed vs uniform: repetition " + (rep + 1) + "/" + reps);
                }
            }
        } finally {
            uniform.values().forEach(OnnxTensor::close);
            mixed.values().forEach(OnnxTensor::close);
        }
        return new Stats[] {Stats.of(u), Stats.of(m)};
    }
}
