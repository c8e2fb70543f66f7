package dev.membrane.onnx.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import dev.membrane.MembraneException;

/**
 * Writes an ONNX graph node by node, the way the PyTorch exporter names things: a node {@code /a/b/MatMul} has
 * output {@code /a/b/MatMul_output_0}; parameters keep their module path ({@code a.b.weight}) except where the
 * exporter renames them ({@code onnx::MatMul_N} for transposed Linear weights, see {@link #anonymous}).
 *
 * <p>Not thread-safe; one builder per graph.
 */
public final class GraphBuilder {
    public static final int OPSET = 17;
    public static final long IR_VERSION = 8;

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final WeightStore weights;
    private final Set<String> names = new HashSet<>();
    private int anonymousCounter;

    public GraphBuilder(String name, WeightStore weights) {
        this.weights = weights;
        graph.setName(name);
    }

    /** A tensor type; a dimension is a Long for a fixed size, a String for a named dynamic one. */
    public static TypeProto tensorType(TensorProto.DataType type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            if (d instanceof Number n) shape.addDimBuilder().setDimValue(n.longValue());
            else shape.addDimBuilder().setDimParam(d.toString());
        }
        return TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(type.getNumber()).setShape(shape)).build();
    }

    public String input(String name, TensorProto.DataType type, Object... dims) {
        claim(name);
        graph.addInput(ValueInfoProto.newBuilder().setName(name).setType(tensorType(type, dims)));
        return name;
    }

    public void output(String name, TensorProto.DataType type, Object... dims) {
        graph.addOutput(ValueInfoProto.newBuilder().setName(name).setType(tensorType(type, dims)));
    }

    /** A name like {@code onnx::MatMul_1234}, as the exporter gives parameters it had to transform. */
    public String anonymous(String op) {
        return "onnx::" + op + "_" + (++anonymousCounter);
    }

    /** A float32 initializer whose bytes go to the weight store (inline or external). */
    public String weight(String name, float[] data, long... dims) {
        check(name, data.length, dims);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        TensorProto.Builder t = tensor(name, TensorProto.DataType.FLOAT, dims);
        weights.place(t, b);
        graph.addInitializer(t);
        return name;
    }

    /** A small float32 constant kept inside the proto. */
    public String constant(String name, float[] data, long... dims) {
        check(name, data.length, dims);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        graph.addInitializer(tensor(name, TensorProto.DataType.FLOAT, dims).setRawData(ByteString.copyFrom(b)));
        return name;
    }

    /** An int64 vector constant kept inside the proto (shapes, axes). */
    public String constantInt64(String name, long... values) {
        claim(name);
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        graph.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64.getNumber())
                .addDims(values.length).setRawData(ByteString.copyFrom(b)));
        return name;
    }

    private TensorProto.Builder tensor(String name, TensorProto.DataType type, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber());
        for (long d : dims) t.addDims(d);
        return t;
    }

    private void check(String name, int length, long[] dims) {
        claim(name);
        long n = 1;
        for (long d : dims) n *= d;
        if (n != length) throw new IllegalArgumentException(name + ": " + length + " values for " + n + " elements");
    }

    private void claim(String name) {
        if (!names.add(name)) throw new IllegalArgumentException("duplicate value name " + name);
    }

    /** Adds node {@code name} and returns its single output {@code name + "_output_0"}. */
    public String node(String op, String name, List<String> inputs, AttributeProto... attrs) {
        return nodeWithOutputs(op, name, inputs, 1, attrs)[0];
    }

    public String[] nodeWithOutputs(String op, String name, List<String> inputs, int outputs, AttributeProto... attrs) {
        String[] outs = new String[outputs];
        for (int i = 0; i < outputs; i++) outs[i] = name + "_output_" + i;
        nodeNamed(op, name, inputs, List.of(outs), attrs);
        return outs;
    }

    /** Adds a node whose outputs carry the given names (graph outputs, for instance). */
    public void nodeNamed(String op, String name, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs);
        for (String out : outputs) {
            claim(out);
            n.addOutput(out);
        }
        for (AttributeProto a : attrs) n.addAttribute(a);
        graph.addNode(n);
    }

    public ModelProto build(String producer) {
        return ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName(producer)
                .setProducerVersion("1")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph)
                .build();
    }

    /** Reads a model proto of any size (past protobuf's default 64 MB message limit). */
    public static ModelProto read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return ModelProto.parseFrom(coded);
        } catch (IOException e) {
            throw new MembraneException(file + ": not an ONNX model (" + e.getMessage() + ")");
        }
    }

    /** Writes the model proto (the weight store must be closed by the caller). */
    public static void write(ModelProto model, Path file) {
        try (OutputStream out = Files.newOutputStream(file)) {
            model.writeTo(out);
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot write model (" + e.getMessage() + ")");
        }
    }
}
