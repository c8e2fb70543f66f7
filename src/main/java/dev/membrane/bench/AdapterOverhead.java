package dev.membrane.bench;

import ai.onnxruntime.OnnxTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * UNet step time with 0, 1, 4 and 8 adapters per sample on the prepared UNet against the unprepared UNet, side by
 * side: after warm-up each repetition runs every configuration once in turn, so drift hits all alike; each sample
 * carries its own stack.
 */
final class AdapterOverhead {
    private AdapterOverhead() {
    }

    static Map<String, Stats> measure(UNetBench bench, int batch, int warmup, int reps, Consumer<String> progress) {
        UNetBench.Inputs in = bench.inputs(batch);
        Map<String, Map<String, OnnxTensor>> configs = new LinkedHashMap<>();
        configs.put("unprepared", null);
        for (int k : new int[] {0, 1, 4, 8}) configs.put("adapters" + k, bench.feeds(bench.stacks(batch, k, b -> b)));
        Map<String, List<Double>> times = new LinkedHashMap<>();
        configs.keySet().forEach(k -> times.put(k, new ArrayList<>()));
        try {
            for (int rep = -warmup; rep < reps; rep++) {
                for (Map.Entry<String, Map<String, OnnxTensor>> c : configs.entrySet()) {
                    double ms = c.getValue() == null ? bench.runPlain(in) : bench.runPrepared(in, c.getValue());
                    if (rep >= 0) times.get(c.getKey()).add(ms);
                }
                if (rep >= 0) progress.accept("adapter overhead: repetition " + (rep + 1) + "/" + reps);
            }
        } finally {
            configs.values().stream().filter(m -> m != null).forEach(m -> m.values().forEach(OnnxTensor::close));
        }
        Map<String, Stats> out = new LinkedHashMap<>();
        times.forEach((k, v) -> out.put(k, Stats.of(v)));
        return out;
    }
}
