package dev.membrane.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import dev.membrane.onnx.Initializers;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.Tensors;
import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.AppliedAdapter;
import dev.membrane.spm.SpmModule;
import dev.membrane.spm.UNetPreparer;

/**
 * Switching stacks between requests. Merge approach (what most tools do): fold ΔW of the new stack into the 192
 * site weights and create a new session with them (ONNX Runtime's {@code addInitializer} overrides, cheaper than
 * rewriting the file). Slots: fill the slot tensors for the new stack. Measured: from "new stack known" to "UNet
 * ready to run it", alternating.
 */
final class MergeSwitch {
    private MergeSwitch() {
    }

    /** [merge, slots] switch times in milliseconds. */
    static Stats[] measure(UNetBench bench, int adaptersPerStack, int reps, Consumer<String> progress) {
        ModelProto model = UNetPreparer.readModel(bench.folder.unet());
        Map<String, TensorProto> inits = new HashMap<>();
        for (TensorProto t : model.getGraph().getInitializerList()) inits.put(t.getName(), t);
        Map<String, float[]> base = new HashMap<>();
        for (AdapterSite s : bench.layout.adapterSites()) base.put(s.weightName(), Initializers.floats(inits.get(s.weightName()), bench.folder.unet().getParent()));
        List<Double> merge = new ArrayList<>();
        List<Double> slots = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            int first = rep;
            List<AppliedAdapter> stack = bench.stacks(1, adaptersPerStack, b -> first).get(0);
            long t0 = System.nanoTime();
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                List<OnnxTensor> tensors = new ArrayList<>();
                for (AdapterSite s : bench.layout.adapterSites()) {
                    float[] w = base.get(s.weightName()).clone();
                    for (AppliedAdapter a : stack) {
                        SpmModule m = a.file().modules().get(s.key());
                        double scale = a.gamma() * m.scale();
                        for (int o = 0; o < s.out(); o++) {
                            double u = scale * m.up()[o];
                            for (int i = 0; i < s.in(); i++) {
                                int idx = s.kind() == AdapterSite.Kind.MATMUL ? i * s.out() + o : o * s.in() + i;
                                w[idx] += (float) (u * m.down()[i]);
                            }
                        }
                    }
                    long[] dims = inits.get(s.weightName()).getDimsList().stream().mapToLong(Long::longValue).toArray();
                    OnnxTensor t = OrtErrors.call(bench.folder.unet(), "merge", () -> Tensors.floating(bench.runtime.environment(), w, dims,
                            ai.onnxruntime.OnnxJavaType.FLOAT));
                    tensors.add(t);
                    OrtErrors.call(bench.folder.unet(), "merge", () -> {
                        options.addInitializer(s.weightName(), t);
                        return null;
                    });
                }
                OrtSession session = OrtErrors.call(bench.folder.unet(), "merged session",
                        () -> bench.runtime.environment().createSession(bench.folder.unet().toString(), options));
                merge.add((System.nanoTime() - t0) / 1e6);
                OrtErrors.call(bench.folder.unet(), "closing", () -> {
                    session.close();
                    return null;
                });
                tensors.forEach(OnnxTensor::close);
            }
            long t1 = System.nanoTime();
            Map<String, OnnxTensor> feeds = bench.feeds(List.of(stack));
            slots.add((System.nanoTime() - t1) / 1e6);
            feeds.values().forEach(OnnxTensor::close);
            progress.accept("merge switch vs slots: repetition " + (rep + 1) + "/" + reps);
        }
        return new Stats[] {Stats.of(merge), Stats.of(slots)};
    }
}
