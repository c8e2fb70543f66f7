package dev.membrane.onnx.reference;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

import dev.membrane.onnx.graph.Attr;

/**
 * SD 1.x's {@code UNet2DConditionModel} as an ONNX graph: inputs {@code sample [B,4,h,w]}, {@code timestep},
 * {@code encoder_hidden_states [B,S,d]}; output {@code out_sample [B,4,h,w]}. Module names, block topology and
 * the skip-connection order are diffusers'; upsampling resizes to the matching skip's size, so latent sides that
 * are not multiples of 8 work as in diffusers.
 */
final class UNetGraph {
    private static final float RESNET_EPS = 1e-5f;
    private static final float TRANSFORMER_EPS = 1e-6f;

    private final Layers l;
    private final ReferencePreset p;
    private String encoderHiddenStates;
    private String timeEmbedding;

    UNetGraph(Layers layers, ReferencePreset preset) {
        this.l = layers;
        this.p = preset;
    }

    void build(ModelIoTypes io) {
        DataType floatIo = io.float16Io() ? DataType.FLOAT16 : DataType.FLOAT;
        String sample = l.g.input("sample", floatIo, "batch", 4L, "height", "width");
        String timestep = switch (io.timestep()) {
            case FLOAT_BATCH -> l.g.input("timestep", floatIo, "batch");
            case FLOAT_SCALAR -> l.g.input("timestep", floatIo);
            case INT64_BATCH -> l.g.input("timestep", DataType.INT64, "batch");
        };
        encoderHiddenStates = l.g.input("encoder_hidden_states", floatIo, "batch", "sequence", (long) p.textWidth());
        if (io.float16Io()) {
            sample = toFloat32("sample", sample);
            encoderHiddenStates = toFloat32("encoder_hidden_states", encoderHiddenStates);
        }
        if (io.float16Io() || io.timestep() == ModelIoTypes.TimestepInput.INT64_BATCH) timestep = toFloat32("timestep", timestep);
        timeEmbedding = timeEmbedding(timestep);
        String out = body(sample);
        if (io.float16Io()) {
            l.g.nodeNamed("Cast", "/Cast_out", List.of(out), List.of("out_sample"), Attr.i("to", DataType.FLOAT16.getNumber()));
        } else {
            l.g.nodeNamed("Identity", "/Identity_out", List.of(out), List.of("out_sample"));
        }
        l.g.output("out_sample", floatIo, "batch", 4L, "height", "width");
    }

    private String toFloat32(String what, String x) {
        return l.op("", "Cast", List.of(x), Attr.i("to", DataType.FLOAT.getNumber()));
    }

    /** Sinusoidal projection (flip_sin_to_cos, shift 0) then time_embedding.linear_1 → SiLU → linear_2. */
    private String timeEmbedding(String timestep) {
        int dim = p.unetChannels()[0];
        int half = dim / 2;
        float[] freqs = new float[half];
        for (int i = 0; i < half; i++) freqs[i] = (float) Math.exp(-Math.log(10000) * i / half);
        // a scalar timestep is broadcast to [1] first; [batch] stays [batch]
        String t = l.op("time_proj", "Reshape", List.of(timestep, l.shape(-1, 1)));
        String args = l.op("time_proj", "Mul", List.of(t, l.g.constant(l.g.anonymous("Constant"), freqs, 1, half)));
        String emb = l.op("time_proj", "Concat", List.of(l.op("time_proj", "Cos", List.of(args)),
                l.op("time_proj", "Sin", List.of(args))), Attr.i("axis", -1));
        String h = l.gemm("time_embedding.linear_1", emb, dim, p.timeEmbedDim());
        h = l.silu("time_embedding.act", h);
        return l.gemm("time_embedding.linear_2", h, p.timeEmbedDim(), p.timeEmbedDim());
    }

    private String body(String sample) {
        int[] ch = p.unetChannels();
        String h = l.conv("conv_in", sample, 4, ch[0], 3, 1);
        Deque<String> skips = new ArrayDeque<>();
        Deque<Integer> skipChannels = new ArrayDeque<>();
        skips.push(h);
        skipChannels.push(ch[0]);
        for (int i = 0; i < 4; i++) {
            int in = i == 0 ? ch[0] : ch[i - 1];
            int out = ch[i];
            for (int j = 0; j < 2; j++) {
                h = resnet("down_blocks." + i + ".resnets." + j, h, j == 0 ? in : out, out);
                if (i < 3) h = transformer("down_blocks." + i + ".attentions." + j, h, out);
                skips.push(h);
                skipChannels.push(out);
            }
            if (i < 3) {
                h = l.conv("down_blocks." + i + ".downsamplers.0.conv", h, out, out, 3, 2);
                skips.push(h);
                skipChannels.push(out);
            }
        }
        h = resnet("mid_block.resnets.0", h, ch[3], ch[3]);
        h = transformer("mid_block.attentions.0", h, ch[3]);
        h = resnet("mid_block.resnets.1", h, ch[3], ch[3]);
        int prevOut = ch[3];
        for (int i = 0; i < 4; i++) {
            int out = ch[3 - i];
            for (int j = 0; j < 3; j++) {
                String skip = skips.pop();
                int skipC = skipChannels.pop();
                String module = "up_blocks." + i + ".resnets." + j;
                h = l.op("up_blocks." + i, "Concat", List.of(h, skip), Attr.i("axis", 1));
                h = resnet(module, h, (j == 0 ? prevOut : out) + skipC, out);
                if (i > 0) h = transformer("up_blocks." + i + ".attentions." + j, h, out);
            }
            if (i < 3) h = upsample("up_blocks." + i + ".upsamplers.0", h, out, skips.peek());
            prevOut = out;
        }
        h = l.groupNorm("conv_norm_out", h, ch[0], p.unetGroups(), RESNET_EPS);
        h = l.silu("conv_act", h);
        return l.conv("conv_out", h, ch[0], 4, 3, 1);
    }

    /** ResnetBlock2D: norm1 → SiLU → conv1 → + time_emb_proj(SiLU(temb)) → norm2 → SiLU → conv2, + shortcut. */
    private String resnet(String module, String x, int in, int out) {
        String h = l.groupNorm(module + ".norm1", x, in, p.unetGroups(), RESNET_EPS);
        h = l.conv(module + ".conv1", l.silu(module + ".nonlinearity", h), in, out, 3, 1);
        String t = l.gemm(module + ".time_emb_proj", l.silu(module + ".nonlinearity", timeEmbedding), p.timeEmbedDim(), out);
        t = l.op(module, "Unsqueeze", List.of(t, l.shape(2, 3)));
        h = l.add(module, h, t);
        h = l.groupNorm(module + ".norm2", h, out, p.unetGroups(), RESNET_EPS);
        h = l.conv(module + ".conv2", l.silu(module + ".nonlinearity", h), out, out, 3, 1);
        String shortcut = in == out ? x : l.conv(module + ".conv_shortcut", x, in, out, 1, 1);
        return l.add(module, shortcut, h);
    }

    /** Transformer2DModel (SD 1.x: 1x1-conv proj_in/proj_out, one BasicTransformerBlock). */
    private String transformer(String module, String x, int c) {
        String h = l.groupNorm(module + ".norm", x, c, p.unetGroups(), TRANSFORMER_EPS);
        h = l.conv(module + ".proj_in", h, c, c, 1, 1);
        h = l.op(module, "Transpose", List.of(h), Attr.ints("perm", 0, 2, 3, 1));
        h = l.op(module, "Reshape", List.of(h, l.shape(0, -1, c)));
        String block = module + ".transformer_blocks.0";
        String n = l.layerNorm(block + ".norm1", h, c, 1e-5f);
        h = l.add(block, h, l.attention(block + ".attn1", n, n, c, c, p.unetHeads()));
        n = l.layerNorm(block + ".norm2", h, c, 1e-5f);
        h = l.add(block, h, l.attention(block + ".attn2", n, encoderHiddenStates, c, p.textWidth(), p.unetHeads()));
        n = l.layerNorm(block + ".norm3", h, c, 1e-5f);
        h = l.add(block, h, feedForward(block + ".ff", n, c));
        h = l.op(module, "Transpose", List.of(h), Attr.ints("perm", 0, 2, 1));
        h = l.op(module, "Reshape", List.of(h, l.op(module, "Shape", List.of(x))));
        h = l.conv(module + ".proj_out", h, c, c, 1, 1);
        return l.add(module, h, x);
    }

    /** FeedForward with GEGLU: net.0.proj (c → 8c), hidden * gelu(gate), net.2 (4c → c). */
    private String feedForward(String module, String x, int c) {
        int inner = 4 * c;
        String proj = l.linear(module + ".net.0.proj", x, c, 2 * inner, true);
        String[] halves = l.g.nodeWithOutputs("Split", Layers.nodePath(module + ".net.0") + "/Split",
                List.of(proj, l.shape(inner, inner)), 2, Attr.i("axis", -1));
        String gated = l.op(module + ".net.0", "Mul", List.of(halves[0], l.gelu(module + ".net.0", halves[1])));
        return l.linear(module + ".net.2", gated, inner, c, true);
    }

    /** Upsample2D: nearest resize to the next skip's spatial size, then a 3x3 conv. */
    private String upsample(String module, String x, int c, String nextSkip) {
        String batchAndChannels = l.op(module, "Slice", List.of(l.op(module, "Shape", List.of(x)), l.shape(0), l.shape(2)));
        String spatial = l.op(module, "Slice", List.of(l.op(module, "Shape", List.of(nextSkip)), l.shape(2), l.shape(4)));
        String sizes = l.op(module, "Concat", List.of(batchAndChannels, spatial), Attr.i("axis", 0));
        String up = l.op(module, "Resize", List.of(x, "", "", sizes), Attr.s("coordinate_transformation_mode", "asymmetric"),
                Attr.s("mode", "nearest"), Attr.s("nearest_mode", "floor"));
        return l.conv(module + ".conv", up, c, c, 3, 1);
    }
}
