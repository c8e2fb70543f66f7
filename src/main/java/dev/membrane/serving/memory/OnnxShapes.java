package dev.membrane.serving.memory;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

import dev.membrane.MembraneException;
import dev.membrane.onnx.graph.ExporterNames;

/**
 * The structure of one ONNX model file without its weight bytes: nodes, graph inputs, and every initializer's
 * name, type and dims. Tensor payloads over {@link #KEEP_PAYLOAD_BYTES} are skipped while reading, so a 1.7 GB
 * fp16 UNet with inline weights costs kilobytes of heap rather than its size (the gateway reads this at start,
 * next to sessions that already hold the weights natively). Small payloads (Reshape shape constants) are kept.
 */
final class OnnxShapes {
    /** Larger tensor payloads are skipped: shape constants are a few dozen bytes, weights are kilobytes up. */
    static final int KEEP_PAYLOAD_BYTES = 4096;
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_INITIALIZER = 5;

    private final Path file;
    private final GraphProto graph;
    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final Map<String, TensorProto> constantOutputs = new HashMap<>();
    private final Set<String> nodeNames = new LinkedHashSet<>();
    private final Map<String, NodeProto> nodes = new HashMap<>();

    private OnnxShapes(Path file, GraphProto graph) {
        this.file = file;
        this.graph = graph;
        for (TensorProto t : graph.getInitializerList()) initializers.put(t.getName(), t);
        for (NodeProto n : graph.getNodeList()) {
            nodeNames.add(n.getName());
            nodes.put(n.getName(), n);
            if (n.getOpType().equals("Constant") && n.getOutputCount() == 1) {
                n.getAttributeList().stream().filter(a -> a.getName().equals("value") && a.hasT())
                        .findFirst().ifPresent(a -> constantOutputs.put(n.getOutput(0), a.getT()));
            }
        }
    }

    static OnnxShapes read(Path file) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            GraphProto graph = null;
            while (true) {
                int tag = coded.readTag();
                if (tag == 0) break;
                if (WireFormat.getTagFieldNumber(tag) == MODEL_GRAPH && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int limit = coded.pushLimit(coded.readRawVarint32());
                    graph = readGraph(coded);
                    coded.popLimit(limit);
                } else {
                    coded.skipField(tag);
                }
            }
            if (graph == null) throw new MembraneException(file + ": not an ONNX model (no graph)");
            return new OnnxShapes(file, graph);
        } catch (IOException | RuntimeException e) {
            if (e instanceof MembraneException m) throw m;
            throw new MembraneException(file + ": not an ONNX model (" + e.getMessage() + ")", e);
        }
    }

    /** The graph's fields as they are, except that initializers lose payloads past the keep limit. */
    private static GraphProto readGraph(CodedInputStream in) throws IOException {
        ByteString.Output rest = ByteString.newOutput();
        CodedOutputStream restOut = CodedOutputStream.newInstance(rest);
        List<TensorProto> inits = new ArrayList<>();
        while (true) {
            int tag = in.readTag();
            if (tag == 0) break;
            if (WireFormat.getTagFieldNumber(tag) == GRAPH_INITIALIZER && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int limit = in.pushLimit(in.readRawVarint32());
                inits.add(readTensorWithoutLargePayload(in));
                in.popLimit(limit);
            } else {
                in.skipField(tag, restOut);
            }
        }
        restOut.flush();
        return GraphProto.parseFrom(rest.toByteString()).toBuilder().addAllInitializer(inits).build();
    }

    private static TensorProto readTensorWithoutLargePayload(CodedInputStream in) throws IOException {
        ByteString.Output kept = ByteString.newOutput();
        CodedOutputStream out = CodedOutputStream.newInstance(kept);
        while (true) {
            int tag = in.readTag();
            if (tag == 0) break;
            if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int length = in.readRawVarint32();
                if (length > KEEP_PAYLOAD_BYTES) {
                    in.skipRawBytes(length);
                } else {
                    out.writeUInt32NoTag(tag);
                    out.writeUInt32NoTag(length);
                    out.writeRawBytes(in.readRawBytes(length));
                }
            } else {
                in.skipField(tag, out);
            }
        }
        out.flush();
        return TensorProto.parseFrom(kept.toByteString());
    }

    Path file() {
        return file;
    }

    /** Whether any node or initializer belongs to {@code module} ({@code down_blocks.0.attentions}). */
    boolean hasModule(String module) {
        String nodePrefix = ExporterNames.nodePath(module) + "/";
        String nodePrefixNumbered = ExporterNames.nodePath(module) + ".";
        for (String n : nodeNames) if (n.startsWith(nodePrefix) || n.startsWith(nodePrefixNumbered)) return true;
        for (String t : initializers.keySet()) if (t.startsWith(module + ".")) return true;
        return false;
    }

    /**
     * A module's weight (name, type, dims; no payload): the initializer {@code module.weight} where the exporter
     * kept the name, else the weight input of the module's {@code Conv} / {@code MatMul} / {@code Gemm} node
     * (exporters rename transposed Linear weights to {@code onnx::MatMul_N}).
     */
    Optional<TensorProto> weight(String module) {
        TensorProto t = initializers.get(module + ".weight");
        if (t != null) return Optional.of(t);
        for (String op : List.of("Conv", "MatMul", "Gemm")) {
            NodeProto n = nodes.get(ExporterNames.node(module, op));
            if (n == null) continue;
            for (int i = 1; i < n.getInputCount(); i++) {
                TensorProto w = initializers.get(n.getInput(i));
                if (w != null && w.getDimsCount() >= 2) return Optional.of(w);
            }
        }
        return Optional.empty();
    }

    /** Dimension {@code axis} of a module's weight. */
    Optional<Long> weightDim(String module, int axis) {
        return weight(module).filter(t -> t.getDimsCount() > axis).map(t -> t.getDims(axis));
    }

    /** The int64 constants (initializers or Constant nodes) that {@code Reshape} nodes of {@code module} reshape to. */
    List<long[]> reshapeTargets(String module) {
        String prefix = ExporterNames.nodePath(module) + "/";
        List<long[]> out = new ArrayList<>();
        for (NodeProto n : graph.getNodeList()) {
            if (!n.getOpType().equals("Reshape") || !n.getName().startsWith(prefix) || n.getInputCount() < 2) continue;
            TensorProto t = initializers.getOrDefault(n.getInput(1), constantOutputs.get(n.getInput(1)));
            if (t != null) int64s(t).ifPresent(out::add);
        }
        return out;
    }

    /**
     * The one-element int64 constants that {@code Concat} nodes of {@code module} join: what a reshape target
     * built at run time ({@code [batch, -1, heads, headDim]} in torch's export of {@code view}) is made of.
     */
    Set<Long> concatConstants(String module) {
        String prefix = ExporterNames.nodePath(module) + "/";
        Set<Long> out = new LinkedHashSet<>();
        for (NodeProto n : graph.getNodeList()) {
            if (!n.getOpType().equals("Concat") || !n.getName().startsWith(prefix)) continue;
            for (String in : n.getInputList()) {
                TensorProto t = initializers.getOrDefault(in, constantOutputs.get(in));
                if (t == null) continue;
                int64s(t).filter(v -> v.length == 1).ifPresent(v -> out.add(v[0]));
            }
        }
        return out;
    }

    /** Dimension {@code axis} of graph input {@code name} when it is a number, not a symbol. */
    OptionalLong inputDim(String name, int axis) {
        for (ValueInfoProto v : graph.getInputList()) {
            if (!v.getName().equals(name)) continue;
            TensorShapeProto shape = v.getType().getTensorType().getShape();
            if (axis < shape.getDimCount() && shape.getDim(axis).hasDimValue() && shape.getDim(axis).getDimValue() > 0) {
                return OptionalLong.of(shape.getDim(axis).getDimValue());
            }
        }
        return OptionalLong.empty();
    }

    /** The model file's size plus each distinct external data file its initializers point to. */
    long fileBytes() {
        Set<String> locations = new LinkedHashSet<>();
        for (TensorProto t : graph.getInitializerList()) {
            if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) continue;
            for (StringStringEntryProto e : t.getExternalDataList()) if (e.getKey().equals("location")) locations.add(e.getValue());
        }
        try {
            long sum = Files.size(file);
            for (String l : locations) {
                Path p = file.resolveSibling(l);
                if (Files.isRegularFile(p)) sum += Files.size(p);
            }
            return sum;
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot read its size (" + e.getMessage() + ")");
        }
    }

    private static Optional<long[]> int64s(TensorProto t) {
        if (t.getDataType() != TensorProto.DataType.INT64.getNumber()) return Optional.empty();
        if (t.getInt64DataCount() > 0) return Optional.of(t.getInt64DataList().stream().mapToLong(Long::longValue).toArray());
        if (t.getRawData().isEmpty()) return Optional.empty();
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[b.remaining() / 8];
        for (int i = 0; i < out.length; i++) out[i] = b.getLong();
        return Optional.of(out);
    }
}
