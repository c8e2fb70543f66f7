package dev.membrane.onnx.reference;

import ai.onnx.proto.OnnxMl.AttributeProto;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.membrane.onnx.graph.Attr;
import dev.membrane.onnx.graph.ExporterNames;
import dev.membrane.onnx.graph.GraphBuilder;

/**
 * The neural-network layers of SD 1.x's text encoder, UNet and VAE, written as the PyTorch exporter writes them.
 * A module path such as {@code down_blocks.0.attentions.0.proj_in} names parameters ({@code ….weight}) and,
 * with {@code /} for {@code .} between modules, nodes ({@code /down_blocks.0/attentions.0/proj_in/Conv}).
 *
 * <p>Linear layers on 3-D activations become {@code MatMul} with a transposed weight {@code onnx::MatMul_N}
 * ({@code [in, out]}) and, with a bias, {@code Add(bias, MatMul_output)}; on 2-D activations, {@code Gemm}.
 * These are the sites that SPM adapter slots later attach to.
 */
final class Layers {
    final GraphBuilder g;
    private final ParameterInit init;
    private final Map<String, Integer> opCounters = new HashMap<>();

    Layers(GraphBuilder g, ParameterInit init) {
        this.g = g;
        this.init = init;
    }

    static String nodePath(String module) {
        return ExporterNames.nodePath(module);
    }

    /** Adds node {@code <module path>/<Op>[_k]}, numbering repeats within the module as the exporter does. */
    String op(String module, String opType, List<String> inputs, AttributeProto... attrs) {
        String base = nodePath(module) + "/" + opType;
        int k = opCounters.merge(base, 1, Integer::sum) - 1;
        return g.node(opType, k == 0 ? base : base + "_" + k, inputs, attrs);
    }

    String shape(long... dims) {
        return g.constantInt64(g.anonymous("Constant"), dims);
    }

    String scalar(float v) {
        return g.constant(g.anonymous("Constant"), new float[] {v});
    }

    String linear(String module, String x, int in, int out, boolean bias) {
        double bound = 1 / Math.sqrt(in);
        String w = g.weight(g.anonymous("MatMul"), init.uniform(module + ".weight", in * out, bound), in, out);
        String y = op(module, "MatMul", List.of(x, w));
        if (!bias) return y;
        String b = g.weight(module + ".bias", init.uniform(module + ".bias", out, bound), out);
        return op(module, "Add", List.of(b, y));
    }

    /** A Linear layer on a 2-D activation: {@code Gemm(x, W[out, in], b)} with transB. */
    String gemm(String module, String x, int in, int out) {
        double bound = 1 / Math.sqrt(in);
        String w = g.weight(module + ".weight", init.uniform(module + ".weight", in * out, bound), out, in);
        String b = g.weight(module + ".bias", init.uniform(module + ".bias", out, bound), out);
        return op(module, "Gemm", List.of(x, w, b), Attr.f("alpha", 1f), Attr.f("beta", 1f), Attr.i("transB", 1));
    }

    String conv(String module, String x, int in, int out, int kernel, int stride) {
        return conv(module, x, in, out, kernel, stride, 1.0);
    }

    String conv(String module, String x, int in, int out, int kernel, int stride, double gain) {
        int fanIn = in * kernel * kernel;
        double bound = gain / Math.sqrt(fanIn);
        String w = g.weight(module + ".weight", init.uniform(module + ".weight", out * fanIn, bound), out, in, kernel, kernel);
        String b = g.weight(module + ".bias", init.uniform(module + ".bias", out, 1 / Math.sqrt(fanIn)), out);
        int pad = kernel / 2;
        return op(module, "Conv", List.of(x, w, b), Attr.ints("dilations", 1, 1), Attr.i("group", 1),
                Attr.ints("kernel_shape", kernel, kernel), Attr.ints("pads", pad, pad, pad, pad),
                Attr.ints("strides", stride, stride));
    }

    /** GroupNorm as exported: Reshape to [B, G, -1], InstanceNormalization, Reshape back, affine Mul/Add. */
    String groupNorm(String module, String x, int channels, int groups, float eps) {
        String grouped = op(module, "Reshape", List.of(x, shape(0, groups, -1)));
        String ones = g.constant(g.anonymous("Constant"), ParameterInit.filled(groups, 1f), groups);
        String zeros = g.constant(g.anonymous("Constant"), ParameterInit.filled(groups, 0f), groups);
        String normed = op(module, "InstanceNormalization", List.of(grouped, ones, zeros), Attr.f("epsilon", eps));
        String xShape = op(module, "Shape", List.of(x));
        String back = op(module, "Reshape", List.of(normed, xShape));
        String w = g.weight(module + ".weight", ParameterInit.filled(channels, 1f), channels, 1, 1);
        String b = g.weight(module + ".bias", ParameterInit.filled(channels, 0f), channels, 1, 1);
        return op(module, "Add", List.of(op(module, "Mul", List.of(back, w)), b));
    }

    String layerNorm(String module, String x, int dim, float eps) {
        return layerNorm(module, x, dim, eps, 1f);
    }

    String layerNorm(String module, String x, int dim, float eps, float gain) {
        String w = g.weight(module + ".weight", ParameterInit.filled(dim, gain), dim);
        String b = g.weight(module + ".bias", ParameterInit.filled(dim, 0f), dim);
        return op(module, "LayerNormalization", List.of(x, w, b), Attr.i("axis", -1), Attr.f("epsilon", eps));
    }

    String silu(String module, String x) {
        return op(module, "Mul", List.of(x, op(module, "Sigmoid", List.of(x))));
    }

    String add(String module, String a, String b) {
        return op(module, "Add", List.of(a, b));
    }

    /** Exact (erf) GELU: x * 0.5 * (1 + erf(x / sqrt(2))). */
    String gelu(String module, String x) {
        String erf = op(module, "Erf", List.of(op(module, "Div", List.of(x, scalar((float) Math.sqrt(2))))));
        String onePlus = op(module, "Add", List.of(erf, scalar(1f)));
        return op(module, "Mul", List.of(op(module, "Mul", List.of(x, onePlus)), scalar(0.5f)));
    }

    /**
     * Multi-head attention of diffusers' {@code Attention} (SD 1.x: no q/k/v bias, {@code to_out.0} with bias).
     * {@code x} is [B, N, dim]; {@code context} [B, M, contextDim].
     */
    String attention(String module, String x, String context, int dim, int contextDim, int heads) {
        String q = linear(module + ".to_q", x, dim, dim, false);
        String k = linear(module + ".to_k", context, contextDim, dim, false);
        String v = linear(module + ".to_v", context, contextDim, dim, false);
        String out = multiHead(module, q, k, v, dim, heads, null);
        return linear(module + ".to_out.0", out, dim, dim, true);
    }

    /** softmax(q kᵀ / sqrt(d_head) + mask) v over heads; q, k, v are [B, N, dim]. */
    String multiHead(String module, String q, String k, String v, int dim, int heads, String additiveMask) {
        int headDim = dim / heads;
        String split = shape(0, 0, heads, headDim);
        String qh = op(module, "Transpose", List.of(op(module, "Reshape", List.of(q, split))), Attr.ints("perm", 0, 2, 1, 3));
        String kh = op(module, "Transpose", List.of(op(module, "Reshape", List.of(k, split))), Attr.ints("perm", 0, 2, 3, 1));
        String vh = op(module, "Transpose", List.of(op(module, "Reshape", List.of(v, split))), Attr.ints("perm", 0, 2, 1, 3));
        String scores = op(module, "Mul", List.of(op(module, "MatMul", List.of(qh, kh)), scalar((float) (1 / Math.sqrt(headDim)))));
        if (additiveMask != null) scores = op(module, "Add", List.of(scores, additiveMask));
        String probs = op(module, "Softmax", List.of(scores), Attr.i("axis", -1));
        String ctx = op(module, "Transpose", List.of(op(module, "MatMul", List.of(probs, vh))), Attr.ints("perm", 0, 2, 1, 3));
        return op(module, "Reshape", List.of(ctx, shape(0, 0, dim)));
    }

    String embedding(String name, int rows, int dim, double std) {
        return g.weight(name, init.normal(name, rows * dim, std), rows, dim);
    }
}
