package dev.membrane.evaluation.classifier;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import dev.membrane.MembraneException;
import dev.membrane.evaluation.classifier.ClassifierArchitecture.ParameterShape;
import dev.membrane.onnx.Initializers;
import dev.membrane.spm.UNetPreparer;

/**
 * The classifier's parameters as Java arrays: what {@link dev.membrane.training.AdamW} updates, what each training
 * step binds as NDArrays, and what the ONNX export writes. Names and order are {@link ClassifierArchitecture}'s.
 */
public final class ClassifierWeights {
    private final Map<String, float[]> tensors;

    private ClassifierWeights(Map<String, float[]> tensors) {
        this.tensors = tensors;
    }

    /**
     * He (Kaiming-normal, fan-in) initialisation for the ReLU layers, LeCun-normal for the linear heads, zero biases;
     * the whole draw comes from one stream of {@code seed}, so a seed fixes the start.
     */
    public static ClassifierWeights initialise(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, float[]> m = new LinkedHashMap<>();
        for (ParameterShape p : ClassifierArchitecture.parameters()) {
            float[] v = new float[p.size()];
            if (!p.bias()) {
                double gain = p.name().startsWith("head_") ? 1.0 : 2.0;
                double std = Math.sqrt(gain / p.fanIn());
                for (int i = 0; i < v.length; i++) v[i] = (float) (gaussian(r) * std);
            }
            m.put(p.name(), v);
        }
        return new ClassifierWeights(m);
    }

    /**
     * The parameters of an exported classifier, read back from its initializers (to continue from it, or to hold its
     * ONNX Runtime outputs against the DJL forward). Every parameter must be there with its shape.
     */
    public static ClassifierWeights read(Path onnx) {
        Map<String, TensorProto> inits = new HashMap<>();
        for (TensorProto t : UNetPreparer.readModel(onnx).getGraph().getInitializerList()) inits.put(t.getName(), t);
        Map<String, float[]> m = new LinkedHashMap<>();
        for (ParameterShape p : ClassifierArchitecture.parameters()) {
            TensorProto t = inits.get(p.name());
            if (t == null || !java.util.Arrays.equals(t.getDimsList().stream().mapToLong(Long::longValue).toArray(), p.shape())) {
                throw new MembraneException(onnx + ": not a shapes classifier of this architecture (parameter " + p.name()
                        + (t == null ? " is missing)" : " has shape " + t.getDimsList() + ")"));
            }
            m.put(p.name(), Initializers.floats(t, onnx.toAbsolutePath().getParent()));
        }
        return new ClassifierWeights(m);
    }

    /** Box–Muller on the stream (SplittableRandom has no nextGaussian in Java 17). */
    private static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    /** Parameter arrays by name, live (the optimizer updates them in place). */
    public Map<String, float[]> tensors() {
        return tensors;
    }

    public float[] get(String name) {
        float[] v = tensors.get(name);
        if (v == null) throw new IllegalArgumentException("no classifier parameter " + name);
        return v;
    }

    public long parameterCount() {
        return tensors.values().stream().mapToLong(a -> a.length).sum();
    }
}
