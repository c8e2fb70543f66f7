package dev.membrane.training.twin;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.membrane.MembraneException;
import dev.membrane.onnx.Initializers;
import dev.membrane.onnx.graph.ExporterNames;

/**
 * A UNet graph looked up by the exporter's node names, the way {@link dev.membrane.spm.AdapterSites} finds the SPM
 * sites: a module's parameters are whatever initializers its nodes read ({@code /…/to_q/MatMul} input 1 may be
 * {@code onnx::MatMul_123}). Every float initializer the twin reads is recorded, so that {@link #firstUnmapped}
 * can name a node whose weights nothing consumed (a fused or unknown layer).
 */
final class OnnxGraphIndex {
    private final String source;
    private final Path modelDir;
    private final GraphProto graph;
    private final Map<String, NodeProto> nodes = new HashMap<>();
    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final Set<String> consumed = new HashSet<>();
    private final List<TwinParameter> parameters = new ArrayList<>();

    OnnxGraphIndex(GraphProto graph, Path modelDir, String source) {
        this.graph = graph;
        this.modelDir = modelDir;
        this.source = source;
        for (NodeProto n : graph.getNodeList()) nodes.put(n.getName(), n);
        for (TensorProto t : graph.getInitializerList()) initializers.put(t.getName(), t);
    }

    String source() {
        return source;
    }

    Optional<NodeProto> node(String module, String opType) {
        return Optional.ofNullable(nodes.get(ExporterNames.node(module, opType)));
    }

    boolean has(String module, String opType) {
        return nodes.containsKey(ExporterNames.node(module, opType));
    }

    NodeProto require(String module, String opType) {
        NodeProto n = nodes.get(ExporterNames.node(module, opType));
        if (n == null) throw unmapped("no node " + ExporterNames.node(module, opType) + " for module " + module);
        return n;
    }

    MembraneException unmapped(String what) {
        return new MembraneException(source + ": the training twin cannot map this UNet: " + what
                + " (a raw SD 1.x export is needed: the PyTorch exporter's graph before any fusion or optimisation)");
    }

    boolean isInitializer(String name) {
        return initializers.containsKey(name);
    }

    /** The one input of {@code node} that is a float initializer with more than one element (a weight or bias). */
    Optional<String> weightInput(NodeProto node) {
        for (String in : node.getInputList()) {
            TensorProto t = initializers.get(in);
            if (t != null && isFloat(t) && elements(t) > 1) return Optional.of(in);
        }
        return Optional.empty();
    }

    TensorProto initializer(String name) {
        TensorProto t = initializers.get(name);
        if (t == null) throw unmapped("tensor " + name + " is not an initializer");
        return t;
    }

    /** The values of a float/float16 initializer as float32, marking it consumed. */
    float[] floats(String name) {
        TensorProto t = initializer(name);
        consumed.add(name);
        return Initializers.floats(t, modelDir);
    }

    /**
     * A learnable tensor of the twin: the initializer's values in the array the computation uses (its stored shape),
     * recorded so that a trained twin can write its values back under the same name.
     */
    ai.djl.ndarray.NDArray parameter(ai.djl.ndarray.NDManager m, String name) {
        return parameter(m, name, new ai.djl.ndarray.types.Shape(dims(name)));
    }

    /** As {@link #parameter}, viewed in {@code shape} (same elements, same order). */
    ai.djl.ndarray.NDArray parameter(ai.djl.ndarray.NDManager m, String name, ai.djl.ndarray.types.Shape shape) {
        ai.djl.ndarray.NDArray a = m.create(floats(name), shape);
        parameters.add(new TwinParameter(name, a, false));
        return a;
    }

    /** As {@link #parameter}, for a 2-D initializer the computation uses transposed ([out, in] stored as [in, out]). */
    ai.djl.ndarray.NDArray transposedParameter(ai.djl.ndarray.NDManager m, String name) {
        long[] d = dims(name);
        if (d.length != 2) throw unmapped(name + " is not 2-D");
        float[] t = TwinLayers.transpose(floats(name), (int) d[0], (int) d[1]);
        ai.djl.ndarray.NDArray a = m.create(t, new ai.djl.ndarray.types.Shape(d[1], d[0]));
        parameters.add(new TwinParameter(name, a, true));
        return a;
    }

    /** The learnable tensors read so far, in reading order. */
    List<TwinParameter> parameters() {
        return List.copyOf(parameters);
    }

    long[] dims(String name) {
        return initializer(name).getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** An int64 constant (a Reshape's target shape), or empty where it is computed at run time. */
    Optional<long[]> int64(String name) {
        TensorProto t = initializers.get(name);
        if (t == null || t.getDataType() != TensorProto.DataType.INT64.getNumber()) return Optional.empty();
        if (t.getInt64DataCount() > 0) return Optional.of(t.getInt64DataList().stream().mapToLong(Long::longValue).toArray());
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[b.remaining() / 8];
        for (int i = 0; i < out.length; i++) out[i] = b.getLong();
        return Optional.of(out);
    }

    static Optional<AttributeProto> attribute(NodeProto node, String name) {
        return node.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst();
    }

    static float floatAttribute(NodeProto node, String name, float fallback) {
        return attribute(node, name).map(AttributeProto::getF).orElse(fallback);
    }

    static long intAttribute(NodeProto node, String name, long fallback) {
        return attribute(node, name).map(AttributeProto::getI).orElse(fallback);
    }

    static List<Long> intsAttribute(NodeProto node, String name) {
        return attribute(node, name).map(AttributeProto::getIntsList).orElse(List.of());
    }

    /** The first node, in graph order, that reads a float weight the twin did not map; empty when all are mapped. */
    Optional<String> firstUnmapped() {
        for (NodeProto n : graph.getNodeList()) {
            for (String in : n.getInputList()) {
                TensorProto t = initializers.get(in);
                if (t != null && isFloat(t) && elements(t) > 1 && !consumed.contains(in)) {
                    return Optional.of(n.getName() + " (" + n.getOpType() + ", weight " + in + ")");
                }
            }
        }
        return Optional.empty();
    }

    private static boolean isFloat(TensorProto t) {
        int type = t.getDataType();
        return type == TensorProto.DataType.FLOAT.getNumber() || type == TensorProto.DataType.FLOAT16.getNumber();
    }

    private static long elements(TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) n *= d;
        return n;
    }
}
