package dev.membrane.spm;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import dev.membrane.MembraneException;
import dev.membrane.onnx.graph.GraphBuilder;

/**
 * Rewrites a raw (unfused) SD 1.x UNet export so that every SPM site adds a per-sample adapter branch fed from
 * plain graph inputs (see {@link SlotLayout}):
 * <ul>
 *   <li>Linear ({@code MatMul}, with or without a following bias {@code Add}): y += (x · D) · U, with
 *       D = slice of {@code spm_linear_down} [B, in, K] and U = slice of {@code spm_linear_up} [B, K, out];</li>
 *   <li>1x1 Conv: y += reshape(U · (D · reshape(x, [B, in, HW]))), D [B, K, in], U [B, out, K], so the branch stays
 *       in NCHW-compatible MatMuls instead of adding layout conversions around every site.</li>
 * </ul>
 * The site's output is renamed and re-created by an {@code Add}, so consumers are untouched; all-zero slots give
 * the base model's output. Initializers are copied as they are: external data keeps pointing at the same file,
 * so the prepared graph is written next to the original.
 */
public final class UNetPreparer {
    /** The prepared graph's file name, beside {@code unet/model.onnx}. */
    public static final String PREPARED_FILE = "model.spm.onnx";

    private UNetPreparer() {
    }

    /** Reads {@code unetFile}, writes the prepared graph to {@code out}, and returns its layout. */
    public static SlotLayout prepare(Path unetFile, int slots, Path out) {
        ModelProto model = readModel(unetFile);
        SlotLayout layout = layoutOf(model, slots, unetFile.toString());
        ModelProto prepared = withGraph(model, rewriteGraph(model.getGraph(), layout), layout);
        try (OutputStream os = Files.newOutputStream(out)) {
            prepared.writeTo(os);
        } catch (IOException e) {
            throw new MembraneException(out + ": cannot write prepared UNet (" + e.getMessage() + ")");
        }
        return layout;
    }

    public static ModelProto readModel(Path file) {
        return GraphBuilder.read(file);
    }

    /** Validates the graph and computes the layout. */
    static SlotLayout layoutOf(ModelProto model, int slots, String source) {
        GraphProto g = model.getGraph();
        for (ValueInfoProto in : g.getInputList()) {
            if (in.getName().startsWith("spm_")) throw new MembraneException(source + ": UNet is already prepared (input " + in.getName() + ")");
        }
        List<AdapterSite> sites = AdapterSites.find(g);
        long transformers = sites.stream().filter(s -> s.module().endsWith(".proj_in")).count();
        long keys = sites.stream().filter(s -> s.module().endsWith("attn2.to_k")).count();
        long values = sites.stream().filter(s -> s.module().endsWith("attn2.to_v")).count();
        if (sites.isEmpty() || keys == 0 || keys != values || keys != transformers) {
            throw new MembraneException(source + ": cannot find separate attn2 to_k/to_v MatMul nodes for every transformer block ("
                    + sites.size() + " SPM sites found, " + keys + " to_k, " + values + " to_v, " + transformers
                    + " proj_in). The graph looks fused or optimised; prepare a raw export (the PyTorch exporter's output, before ONNX Runtime or optimum optimisation)");
        }
        Map<String, TensorProto> inits = g.getInitializerList().stream()
                .collect(Collectors.toMap(TensorProto::getName, t -> t, (a, b) -> a));
        Set<Integer> types = sites.stream().map(s -> inits.get(s.weightName()).getDataType()).collect(Collectors.toSet());
        if (types.size() != 1) throw new MembraneException(source + ": SPM sites mix weight types " + types);
        int type = types.iterator().next();
        String elementType;
        if (type == TensorProto.DataType.FLOAT.getNumber()) elementType = "float";
        else if (type == TensorProto.DataType.FLOAT16.getNumber()) elementType = "float16";
        else throw new MembraneException(source + ": SPM site weights have ONNX type " + type + " (float or float16 needed)");
        return SlotLayout.of(sites, slots, elementType);
    }

    private static ModelProto withGraph(ModelProto model, GraphProto graph, SlotLayout layout) {
        ModelProto.Builder b = model.toBuilder().setGraph(graph);
        b.addMetadataProps(StringStringEntryProto.newBuilder().setKey(SlotLayout.METADATA_KEY).setValue(layout.toJson()));
        return b.build();
    }

    static GraphProto rewriteGraph(GraphProto g, SlotLayout layout) {
        TensorProto.DataType type = layout.elementType().equals("float16") ? TensorProto.DataType.FLOAT16 : TensorProto.DataType.FLOAT;
        String batch = batchDimName(g);
        GraphProto.Builder out = g.toBuilder().clearNode();
        int k = layout.slots();
        if (layout.linearIn() > 0) {
            out.addInput(input(SlotLayout.LINEAR_DOWN, type, batch, layout.linearIn(), k));
            out.addInput(input(SlotLayout.LINEAR_UP, type, batch, k, layout.linearOut()));
        }
        if (layout.hasConvSites()) {
            out.addInput(input(SlotLayout.CONV_DOWN, type, batch, k, layout.convIn()));
            out.addInput(input(SlotLayout.CONV_UP, type, batch, layout.convOut(), k));
        }
        Map<String, SlotLayout.PlacedSite> byNode = new HashMap<>();
        for (SlotLayout.PlacedSite p : layout.sites()) byNode.put(p.site().nodeName(), p);
        Constants constants = new Constants(out);
        for (NodeProto node : g.getNodeList()) {
            SlotLayout.PlacedSite site = byNode.get(node.getName());
            if (site == null) {
                out.addNode(node);
                continue;
            }
            String y = node.getOutput(0);
            String base = y + "_spm_base";
            out.addNode(node.toBuilder().setOutput(0, base));
            String x = node.getInput(0);
            String prefix = node.getName() + "_spm";
            AdapterSite s = site.site();
            String delta;
            if (s.kind() == AdapterSite.Kind.MATMUL) {
                String d = add(out, "Slice", prefix + "/SliceDown", x(SlotLayout.LINEAR_DOWN, constants.of(site.inOffset()),
                        constants.of(site.inOffset() + s.in()), constants.of(1)));
                String u = add(out, "Slice", prefix + "/SliceUp", x(SlotLayout.LINEAR_UP, constants.of(site.outOffset()),
                        constants.of(site.outOffset() + s.out()), constants.of(2)));
                String h = add(out, "MatMul", prefix + "/Down", x(x, d));
                delta = add(out, "MatMul", prefix + "/Up", x(h, u));
            } else {
                String flat = add(out, "Reshape", prefix + "/Flatten", x(x, constants.of(0, s.in(), -1)));
                String d = add(out, "Slice", prefix + "/SliceDown", x(SlotLayout.CONV_DOWN, constants.of(site.inOffset()),
                        constants.of(site.inOffset() + s.in()), constants.of(2)));
                String u = add(out, "Slice", prefix + "/SliceUp", x(SlotLayout.CONV_UP, constants.of(site.outOffset()),
                        constants.of(site.outOffset() + s.out()), constants.of(1)));
                String h = add(out, "MatMul", prefix + "/Down", x(d, flat));
                String up = add(out, "MatMul", prefix + "/Up", x(u, h));
                String shape = add(out, "Shape", prefix + "/Shape", x(base));
                delta = add(out, "Reshape", prefix + "/Unflatten", x(up, shape));
            }
            out.addNode(NodeProto.newBuilder().setOpType("Add").setName(prefix + "/Add").addInput(base).addInput(delta).addOutput(y));
        }
        return out.build();
    }

    private static List<String> x(String... inputs) {
        return List.of(inputs);
    }

    private static String add(GraphProto.Builder g, String op, String name, List<String> inputs) {
        String output = name + "_output_0";
        g.addNode(NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output));
        return output;
    }

    private static ValueInfoProto input(String name, TensorProto.DataType type, String batch, long d1, long d2) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        shape.addDimBuilder().setDimParam(batch);
        shape.addDimBuilder().setDimValue(d1);
        shape.addDimBuilder().setDimValue(d2);
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape))).build();
    }

    /** The symbolic batch dimension of {@code sample}, so adapter inputs share it. */
    private static String batchDimName(GraphProto g) {
        for (ValueInfoProto in : g.getInputList()) {
            if (in.getName().equals("sample") && in.getType().getTensorType().getShape().getDimCount() > 0) {
                var dim = in.getType().getTensorType().getShape().getDim(0);
                if (dim.hasDimParam()) return dim.getDimParam();
            }
        }
        return "batch";
    }

    /** Int64 vector initializers, one per distinct value list. */
    private static final class Constants {
        private final GraphProto.Builder g;
        private final Map<List<Long>, String> names = new HashMap<>();

        Constants(GraphProto.Builder g) {
            this.g = g;
        }

        String of(long... values) {
            List<Long> key = java.util.Arrays.stream(values).boxed().toList();
            return names.computeIfAbsent(key, v -> {
                String name = "spm_const_" + names.size();
                ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                b.asLongBuffer().put(values);
                g.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64.getNumber())
                        .addDims(values.length).setRawData(ByteString.copyFrom(b)));
                return name;
            });
        }
    }
}
