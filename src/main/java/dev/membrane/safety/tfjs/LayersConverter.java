package dev.membrane.safety.tfjs;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;

import dev.membrane.MembraneException;
import dev.membrane.onnx.graph.Attr;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.onnx.graph.WeightStore;
import dev.membrane.safety.tfjs.ManifestWeights.Tensor;

/**
 * Converts a Keras functional model saved in TF.js Layers format to an ONNX graph: {@value #INPUT}
 * {@code [batch, H, W, C]} (channels last, as the Keras input) → {@value #OUTPUT} {@code [batch, classes]}.
 * Inside, 4-D tensors are kept channels first (ONNX's Conv layout): the input is transposed once, kernels are
 * re-laid out ({@code [kh, kw, in, out]} → {@code [out, in, kh, kw]}), channel axes are remapped, and
 * {@code Flatten} transposes back first so its order is Keras's.
 *
 * <p>Supported layers: InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Activation,
 * Add, Concatenate, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dense, Dropout, Softmax.
 * Anything else is refused by name, as is a weight the topology does not use.
 */
public final class LayersConverter {
    public static final String INPUT = "images";
    public static final String OUTPUT = "scores";

    private final Map<String, Tensor> weights;
    private final Set<String> usedWeights = new HashSet<>();
    private final String source;
    private final GraphBuilder g = new GraphBuilder("tfjs_layers", WeightStore.inline());
    /** Each layer's output value and rank. */
    private final Map<String, Value> values = new HashMap<>();

    private record Value(String name, int rank, long channels) {
    }

    /** The converted graph and the input it expects. */
    public record Converted(ModelProto model, int height, int width, int channels, int classes) {
    }

    private LayersConverter(Map<String, Tensor> weights, String source) {
        this.weights = weights;
        this.source = source;
    }

    public static Converted convert(JsonNode modelJson, byte[] weightData, String source) {
        Map<String, Tensor> weights = ManifestWeights.decode(modelJson.path("weightsManifest"), weightData, source);
        return new LayersConverter(weights, source).run(modelJson.path("modelTopology"));
    }

    private Converted run(JsonNode topology) {
        JsonNode model = topology.has("model_config") ? topology.get("model_config") : topology;
        String cls = model.path("class_name").asText();
        if (!cls.equals("Model") && !cls.equals("Functional")) {
            throw new MembraneException(source + ": a " + cls + " topology is not supported (only functional models: Model, Functional)");
        }
        JsonNode config = model.path("config");
        JsonNode inputs = config.path("input_layers");
        JsonNode outputs = config.path("output_layers");
        if (inputs.size() != 1 || outputs.size() != 1) throw new MembraneException(source + ": only models with one input and one output are supported");
        int[] input = null;
        for (JsonNode layer : config.path("layers")) {
            int[] shape = layer(layer);
            if (shape != null) input = shape;
        }
        if (input == null) throw new MembraneException(source + ": the model has no InputLayer");
        Value out = values.get(outputs.get(0).get(0).asText());
        if (out == null || out.rank() != 2) throw new MembraneException(source + ": the output must be a [batch, classes] tensor");
        g.nodeNamed("Identity", "/output/Identity", List.of(out.name()), List.of(OUTPUT));
        g.output(OUTPUT, TensorProto.DataType.FLOAT, "batch", out.channels());
        Set<String> unused = new TreeSet<>(weights.keySet());
        unused.removeAll(usedWeights);
        if (!unused.isEmpty()) throw new MembraneException(source + ": weights the topology does not use: " + unused);
        return new Converted(g.build("membrane"), input[0], input[1], input[2], (int) out.channels());
    }

    /** Adds one layer; returns the input shape {H, W, C} for the InputLayer, else null. */
    private int[] layer(JsonNode layer) {
        String type = layer.path("class_name").asText();
        String name = layer.path("name").asText();
        JsonNode c = layer.path("config");
        if (type.equals("InputLayer")) {
            JsonNode s = c.path("batch_input_shape");
            if (s.size() != 4) throw new MembraneException(source + ": input " + name + " must be [batch, H, W, C]");
            int h = s.get(1).asInt(), w = s.get(2).asInt(), ch = s.get(3).asInt();
            if (h <= 0 || w <= 0 || ch <= 0) throw new MembraneException(source + ": input " + name + " needs a fixed size");
            g.input(INPUT, TensorProto.DataType.FLOAT, "batch", (long) h, (long) w, (long) ch);
            String x = g.node("Transpose", "/" + name + "/Transpose", List.of(INPUT), Attr.ints("perm", 0, 3, 1, 2));
            values.put(name, new Value(x, 4, ch));
            return new int[] {h, w, ch};
        }
        JsonNode nodes = layer.path("inbound_nodes");
        if (nodes.size() != 1) throw new MembraneException(source + ": layer " + name + " is called " + nodes.size() + " times (shared layers are not supported)");
        List<Value> in = new ArrayList<>();
        for (JsonNode ref : nodes.get(0)) {
            Value v = values.get(ref.get(0).asText());
            if (v == null) throw new MembraneException(source + ": layer " + name + " reads " + ref.get(0).asText() + ", which comes later or does not exist");
            in.add(v);
        }
        if (!List.of("Add", "Concatenate").contains(type) && in.size() != 1) {
            throw new MembraneException(source + ": layer " + name + " (" + type + ") must have one input");
        }
        Value x = in.get(0);
        Value y = switch (type) {
            case "ZeroPadding2D" -> zeroPadding(name, c, x);
            case "Conv2D" -> activation(name, c.path("activation").asText("linear"), conv(name, c, x, false));
            case "DepthwiseConv2D" -> activation(name, c.path("activation").asText("linear"), conv(name, c, x, true));
            case "BatchNormalization" -> batchNorm(name, c, x);
            case "ReLU" -> relu(name, c, x);
            case "Activation" -> activation(name, c.path("activation").asText(), x);
            case "Add" -> add(name, in);
            case "Concatenate" -> concat(name, c, in);
            case "MaxPooling2D" -> pool(name, "MaxPool", c, x);
            case "AveragePooling2D" -> pool(name, "AveragePool", c, x);
            case "GlobalAveragePooling2D" -> new Value(g.node("Flatten", "/" + name + "/Flatten",
                    List.of(g.node("GlobalAveragePool", "/" + name + "/GlobalAveragePool", List.of(need4(name, x).name()))), Attr.i("axis", 1)), 2, x.channels());
            case "Flatten" -> flatten(name, x);
            case "Dense" -> activation(name, c.path("activation").asText("linear"), dense(name, c, x));
            case "Dropout" -> x; // identity at inference
            case "Softmax" -> activation(name, "softmax", x);
            default -> throw new MembraneException(source + ": layer " + name + " has type " + type + ", which this import does not support");
        };
        values.put(name, y);
        return null;
    }

    private Value need4(String name, Value x) {
        if (x.rank() != 4) throw new MembraneException(source + ": layer " + name + " needs a 4-D input");
        return x;
    }

    private Tensor weight(String layer, String kind) {
        String key = layer + "/" + kind;
        Tensor t = weights.get(key);
        if (t == null) throw new MembraneException(source + ": layer " + layer + " needs weight " + key + ", which the manifest lacks");
        usedWeights.add(key);
        return t;
    }

    private Tensor optionalWeight(String layer, String kind, boolean present) {
        return present ? weight(layer, kind) : null;
    }

    private Value zeroPadding(String name, JsonNode c, Value x) {
        need4(name, x);
        JsonNode p = c.path("padding");
        long t, b, l, r;
        if (p.isInt()) {
            t = b = l = r = p.asLong();
        } else if (p.get(0).isArray()) {
            t = p.get(0).get(0).asLong();
            b = p.get(0).get(1).asLong();
            l = p.get(1).get(0).asLong();
            r = p.get(1).get(1).asLong();
        } else {
            t = b = p.get(0).asLong();
            l = r = p.get(1).asLong();
        }
        channelsLast(name, c);
        String pads = g.constantInt64(name + "/pads", 0, 0, t, l, 0, 0, b, r);
        return new Value(g.node("Pad", "/" + name + "/Pad", List.of(x.name(), pads), Attr.s("mode", "constant")), 4, x.channels());
    }

    private void channelsLast(String name, JsonNode c) {
        String format = c.path("data_format").asText("channels_last");
        if (!format.equals("channels_last")) throw new MembraneException(source + ": layer " + name + " uses " + format + " (only channels_last)");
    }

    private static long[] pair(JsonNode n, long fallback) {
        if (n.isMissingNode() || n.isNull()) return new long[] {fallback, fallback};
        if (n.isNumber()) return new long[] {n.asLong(), n.asLong()};
        return new long[] {n.get(0).asLong(), n.get(1).asLong()};
    }

    /** Keras padding: "valid" is none, "same" pads as TensorFlow does (the extra pixel at the end). */
    private AttributeProto autoPad(String name, JsonNode c) {
        String padding = c.path("padding").asText("valid");
        return switch (padding) {
            case "valid" -> Attr.s("auto_pad", "VALID");
            case "same" -> Attr.s("auto_pad", "SAME_UPPER");
            default -> throw new MembraneException(source + ": layer " + name + " has padding '" + padding + "'");
        };
    }

    private Value conv(String name, JsonNode c, Value x, boolean depthwise) {
        need4(name, x);
        channelsLast(name, c);
        Tensor k = weight(name, depthwise ? "depthwise_kernel" : "kernel");
        int kh = k.dim(0), kw = k.dim(1), in = k.dim(2), outOrMult = k.dim(3);
        if (in != x.channels()) throw new MembraneException(source + ": layer " + name + " expects " + in + " channels, gets " + x.channels());
        int out = depthwise ? in * outOrMult : outOrMult;
        float[] w = new float[k.values().length];
        // TF [kh, kw, in, out] → ONNX [out, in, kh, kw]; depthwise [kh, kw, in, m] → [in·m, 1, kh, kw], channel c·m + j
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                for (int ci = 0; ci < in; ci++) {
                    for (int co = 0; co < outOrMult; co++) {
                        float v = k.values()[((i * kw + j) * in + ci) * outOrMult + co];
                        if (depthwise) w[((ci * outOrMult + co) * kh + i) * kw + j] = v;
                        else w[((co * in + ci) * kh + i) * kw + j] = v;
                    }
                }
            }
        }
        List<String> inputs = new ArrayList<>(List.of(x.name(), g.weight(name + ".weight", w, out, depthwise ? 1 : in, kh, kw)));
        if (c.path("use_bias").asBoolean(true)) inputs.add(g.weight(name + ".bias", weight(name, "bias").values(), out));
        long[] strides = pair(c.path("strides"), 1);
        long[] dilation = pair(c.path("dilation_rate"), 1);
        String y = g.node("Conv", "/" + name + "/Conv", inputs, Attr.ints("kernel_shape", kh, kw), Attr.ints("strides", strides),
                Attr.ints("dilations", dilation), Attr.i("group", depthwise ? in : 1), autoPad(name, c));
        return new Value(y, 4, out);
    }

    private Value batchNorm(String name, JsonNode c, Value x) {
        int axis = c.path("axis").isArray() ? c.path("axis").get(0).asInt() : c.path("axis").asInt(-1);
        if (!(axis == -1 || axis == x.rank() - 1)) throw new MembraneException(source + ": layer " + name + " normalises axis " + axis + " (only the channel axis)");
        int n = (int) x.channels();
        Tensor gamma = optionalWeight(name, "gamma", c.path("scale").asBoolean(true));
        Tensor beta = optionalWeight(name, "beta", c.path("center").asBoolean(true));
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        String scale = g.weight(name + ".weight", gamma == null ? ones : gamma.values(), n);
        String bias = g.weight(name + ".bias", beta == null ? new float[n] : beta.values(), n);
        String mean = g.weight(name + ".running_mean", weight(name, "moving_mean").values(), n);
        String var = g.weight(name + ".running_var", weight(name, "moving_variance").values(), n);
        String y = g.node("BatchNormalization", "/" + name + "/BatchNormalization", List.of(x.name(), scale, bias, mean, var),
                Attr.f("epsilon", (float) c.path("epsilon").asDouble(1e-3)));
        return new Value(y, x.rank(), x.channels());
    }

    private Value relu(String name, JsonNode c, Value x) {
        double slope = c.path("negative_slope").asDouble(0), threshold = c.path("threshold").asDouble(0);
        if (slope != 0 || threshold != 0) throw new MembraneException(source + ": layer " + name + " is a ReLU with a slope or threshold, which is not supported");
        JsonNode max = c.path("max_value");
        if (max.isMissingNode() || max.isNull()) return new Value(g.node("Relu", "/" + name + "/Relu", List.of(x.name())), x.rank(), x.channels());
        return clip(name, x, (float) max.asDouble());
    }

    private Value clip(String name, Value x, float max) {
        String lo = g.constant(name + "/min", new float[] {0f});
        String hi = g.constant(name + "/max", new float[] {max});
        return new Value(g.node("Clip", "/" + name + "/Clip", List.of(x.name(), lo, hi)), x.rank(), x.channels());
    }

    private Value activation(String name, String kind, Value x) {
        return switch (kind) {
            case "linear" -> x;
            case "relu" -> new Value(g.node("Relu", "/" + name + "/Relu", List.of(x.name())), x.rank(), x.channels());
            case "relu6" -> clip(name, x, 6f);
            case "sigmoid" -> new Value(g.node("Sigmoid", "/" + name + "/Sigmoid", List.of(x.name())), x.rank(), x.channels());
            case "tanh" -> new Value(g.node("Tanh", "/" + name + "/Tanh", List.of(x.name())), x.rank(), x.channels());
            case "softmax" -> new Value(g.node("Softmax", "/" + name + "/Softmax", List.of(x.name()), Attr.i("axis", x.rank() == 4 ? 1 : -1)),
                    x.rank(), x.channels());
            default -> throw new MembraneException(source + ": layer " + name + " has activation '" + kind + "', which this import does not support");
        };
    }

    private Value add(String name, List<Value> in) {
        String y = in.get(0).name();
        for (int i = 1; i < in.size(); i++) {
            y = g.node("Add", "/" + name + "/Add" + (i == 1 ? "" : "_" + i), List.of(y, in.get(i).name()));
        }
        return new Value(y, in.get(0).rank(), in.get(0).channels());
    }

    private Value concat(String name, JsonNode c, List<Value> in) {
        int rank = in.get(0).rank();
        int axis = c.path("axis").asInt(-1);
        if (axis < 0) axis += rank;
        if (axis != rank - 1) throw new MembraneException(source + ": layer " + name + " concatenates axis " + axis + " (only the channel axis)");
        long channels = in.stream().mapToLong(Value::channels).sum();
        String y = g.node("Concat", "/" + name + "/Concat", in.stream().map(Value::name).toList(), Attr.i("axis", rank == 4 ? 1 : rank - 1));
        return new Value(y, rank, channels);
    }

    private Value pool(String name, String op, JsonNode c, Value x) {
        need4(name, x);
        channelsLast(name, c);
        long[] size = pair(c.path("pool_size"), 2);
        JsonNode s = c.path("strides");
        long[] strides = s.isMissingNode() || s.isNull() ? size : pair(s, 1);
        List<AttributeProto> attrs = new ArrayList<>(List.of(Attr.ints("kernel_shape", size), Attr.ints("strides", strides), autoPad(name, c)));
        // Keras averages over the window's pixels inside the image only (count_include_pad=0, ONNX's default)
        return new Value(g.node(op, "/" + name + "/" + op, List.of(x.name()), attrs.toArray(AttributeProto[]::new)), 4, x.channels());
    }

    private Value flatten(String name, Value x) {
        if (x.rank() == 2) return x;
        String nhwc = g.node("Transpose", "/" + name + "/Transpose", List.of(x.name()), Attr.ints("perm", 0, 2, 3, 1));
        // the features count is known only with the spatial size; Dense checks it against its kernel
        return new Value(g.node("Flatten", "/" + name + "/Flatten", List.of(nhwc), Attr.i("axis", 1)), 2, -1);
    }

    private Value dense(String name, JsonNode c, Value x) {
        if (x.rank() != 2) throw new MembraneException(source + ": layer " + name + " (Dense) needs a flat input; put a Flatten before it");
        Tensor k = weight(name, "kernel");
        int in = k.dim(0), units = k.dim(1);
        if (x.channels() >= 0 && x.channels() != in) throw new MembraneException(source + ": layer " + name + " expects " + in + " features, gets " + x.channels());
        String y = g.node("MatMul", "/" + name + "/MatMul", List.of(x.name(), g.weight(name + ".weight", k.values(), in, units)));
        if (c.path("use_bias").asBoolean(true)) {
            y = g.node("Add", "/" + name + "/Add", List.of(y, g.weight(name + ".bias", weight(name, "bias").values(), units)));
        }
        return new Value(y, 2, units);
    }
}
