package dev.membrane.training.twin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.LayerNorm;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.List;

/**
 * The layers of SD 1.x's UNet as DJL computations, each loaded from the ONNX nodes the exporter wrote for its
 * module. Computations are invoked on the activation (never on a weight), so their results belong to the
 * activation's NDManager and die with it; the weights live in the twin's manager and are never copied.
 *
 * <p>No computation here multiplies or divides by a Java number: DJL turns a number into a temporary tensor over a
 * direct buffer and closes it at once, but autograd keeps that tensor for the backward pass of mul/div, and once the
 * buffer is collected the backward reads freed memory (seen as sporadic NaN gradients). Constants are tensors that
 * live as long as the layer that uses them.
 */
final class TwinLayers {
    private TwinLayers() {
    }

    static NDArray silu(NDArray x) {
        return x.mul(Activation.sigmoid(x));
    }

    /** Exact (erf) GELU, as the reference graph and diffusers' GEGLU compute it (PyTorch's default gelu). */
    static NDArray gelu(NDArray x) {
        return Activation.gelu(x);
    }

    /** A Linear layer: {@code x @ W (+ b)} with W as [in, out], plus the SPM delta where one sits. */
    record Linear(String module, NDArray weight, NDArray bias, int in, int out) {
        /** {@code /module/MatMul} (weight [in, out]) and an optional {@code /module/Add} bias. */
        static Linear matMul(OnnxGraphIndex g, NDManager m, String module) {
            NodeProto mm = g.require(module, "MatMul");
            String w = g.weightInput(mm).orElseThrow(() -> g.unmapped(mm.getName() + " has no weight initializer"));
            long[] d = g.dims(w);
            if (d.length != 2) throw g.unmapped(mm.getName() + " weight " + w + " is not 2-D");
            NDArray weight = g.parameter(m, w);
            NDArray bias = g.node(module, "Add").flatMap(g::weightInput).map(b -> g.parameter(m, b)).orElse(null);
            return new Linear(module, weight, bias, (int) d[0], (int) d[1]);
        }

        /** {@code /module/Gemm}: y = x Wᵀ + b (transB) or x W + b; stored as [in, out]. */
        static Linear gemm(OnnxGraphIndex g, NDManager m, String module) {
            NodeProto gemm = g.require(module, "Gemm");
            String w = gemm.getInput(1);
            long[] d = g.dims(w);
            boolean transB = OnnxGraphIndex.intAttribute(gemm, "transB", 0) == 1;
            int in = (int) (transB ? d[1] : d[0]);
            int out = (int) (transB ? d[0] : d[1]);
            NDArray weight = transB ? g.transposedParameter(m, w) : g.parameter(m, w);
            NDArray bias = gemm.getInputCount() > 2 ? g.parameter(m, gemm.getInput(2)) : null;
            return new Linear(module, weight, bias, in, out);
        }

        NDArray forward(NDArray x, SiteAdapters adapters) {
            NDArray y = x.matMul(weight);
            if (bias != null) y = y.add(bias);
            NDArray delta = adapters.delta(module, x);
            return delta == null ? y : y.add(delta);
        }
    }

    /** A Conv2d with the node's kernel, strides and pads; 1x1 convs inside transformers are SPM sites. */
    record Conv(String module, NDArray weight, NDArray bias, Shape stride, Shape pad, int out) {
        static Conv load(OnnxGraphIndex g, NDManager m, String module) {
            NodeProto conv = g.require(module, "Conv");
            if (OnnxGraphIndex.intAttribute(conv, "group", 1) != 1) throw g.unmapped(conv.getName() + " is a grouped convolution");
            for (long dil : OnnxGraphIndex.intsAttribute(conv, "dilations")) {
                if (dil != 1) throw g.unmapped(conv.getName() + " is a dilated convolution");
            }
            String w = conv.getInput(1);
            long[] d = g.dims(w);
            List<Long> strides = OnnxGraphIndex.intsAttribute(conv, "strides");
            List<Long> pads = OnnxGraphIndex.intsAttribute(conv, "pads");
            if (pads.size() == 4 && (!pads.get(0).equals(pads.get(2)) || !pads.get(1).equals(pads.get(3)))) {
                throw g.unmapped(conv.getName() + " has asymmetric pads " + pads);
            }
            Shape stride = strides.isEmpty() ? new Shape(1, 1) : new Shape(strides.get(0), strides.get(1));
            Shape pad = pads.isEmpty() ? new Shape(0, 0) : new Shape(pads.get(0), pads.get(1));
            NDArray bias = conv.getInputCount() > 2 && !conv.getInput(2).isEmpty() ? g.parameter(m, conv.getInput(2)) : null;
            return new Conv(module, g.parameter(m, w), bias, stride, pad, (int) d[0]);
        }

        NDArray forward(NDArray x, SiteAdapters adapters) {
            NDArray y = Conv2d.conv2d(x, weight, bias, stride, pad, new Shape(1, 1), 1).singletonOrThrow();
            NDArray delta = adapters.delta(module, x);
            return delta == null ? y : y.add(delta);
        }
    }

    /**
     * GroupNorm as exported: Reshape to [B, G, -1], InstanceNormalization (with its own per-group scale and bias),
     * Reshape back, then the per-channel Mul and Add. The normalisation runs as one native layer norm over each
     * group's values (the same biased variance and epsilon) rather than as mean, subtract, square, mean, divide:
     * one fused kernel and one backward node instead of seven, which is most of a training step's norm time on the
     * CPU. The per-group scale and bias are skipped when they are the exporter's identity (ones and zeros).
     */
    record GroupNorm(int groups, float eps, NDArray groupScale, NDArray groupBias, NDArray weight, NDArray bias) {
        static GroupNorm load(OnnxGraphIndex g, NDManager m, String module) {
            NodeProto reshape = g.require(module, "Reshape");
            long[] target = g.int64(reshape.getInput(1))
                    .orElseThrow(() -> g.unmapped(reshape.getName() + " has no constant shape (the group count)"));
            if (target.length != 3) throw g.unmapped(reshape.getName() + " is not a [B, groups, -1] reshape");
            int groups = (int) target[1];
            NodeProto in = g.require(module, "InstanceNormalization");
            float eps = OnnxGraphIndex.floatAttribute(in, "epsilon", 1e-5f);
            float[] scale = g.floats(in.getInput(1));
            float[] shift = g.floats(in.getInput(2));
            NDArray gs = isConstant(scale, 1f) ? null : m.create(scale).reshape(1, groups, 1);
            NDArray gb = isConstant(shift, 0f) ? null : m.create(shift).reshape(1, groups, 1);
            NDArray w = perChannel(g, m, module, "Mul");
            NDArray b = perChannel(g, m, module, "Add");
            return new GroupNorm(groups, eps, gs, gb, w, b);
        }

        private static boolean isConstant(float[] values, float expected) {
            for (float v : values) if (v != expected) return false;
            return true;
        }

        private static NDArray perChannel(OnnxGraphIndex g, NDManager m, String module, String op) {
            NodeProto n = g.require(module, op);
            String name = g.weightInput(n).orElseThrow(() -> g.unmapped(n.getName() + " has no per-channel initializer"));
            long channels = java.util.Arrays.stream(g.dims(name)).reduce(1, (a, b) -> a * b);
            return g.parameter(m, name, new Shape(channels, 1, 1));
        }

        NDArray forward(NDArray x) {
            Shape s = x.getShape();
            NDArray grouped = x.reshape(s.get(0), groups, -1);
            Shape perGroup = new Shape(grouped.getShape().get(2));
            NDManager m = x.getManager();
            NDArray normed = LayerNorm.layerNorm(grouped, perGroup, m.ones(perGroup), m.zeros(perGroup), eps).singletonOrThrow();
            if (groupScale != null) normed = normed.mul(groupScale);
            if (groupBias != null) normed = normed.add(groupBias);
            return normed.reshape(s).mul(weight).add(bias);
        }
    }

    /** LayerNormalization over the last axis (the node's own epsilon, or named weight/bias of a decomposed one). */
    record Norm(float eps, NDArray weight, NDArray bias) {
        static Norm load(OnnxGraphIndex g, NDManager m, String module) {
            var ln = g.node(module, "LayerNormalization");
            if (ln.isPresent()) {
                NodeProto n = ln.get();
                return new Norm(OnnxGraphIndex.floatAttribute(n, "epsilon", 1e-5f),
                        g.parameter(m, n.getInput(1)), g.parameter(m, n.getInput(2)));
            }
            String w = module + ".weight";
            String b = module + ".bias";
            if (!g.isInitializer(w) || !g.isInitializer(b)) throw g.unmapped("no LayerNormalization node or " + w + " for " + module);
            return new Norm(1e-5f, g.parameter(m, w), g.parameter(m, b));
        }

        NDArray forward(NDArray x) {
            return LayerNorm.layerNorm(x, new Shape(weight.size()), weight, bias, eps).singletonOrThrow();
        }
    }

    static float[] transpose(float[] v, int rows, int cols) {
        float[] t = new float[v.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = v[r * cols + c];
        return t;
    }
}
