package dev.membrane.onnx.reference;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.util.List;

import dev.membrane.onnx.graph.Attr;

/**
 * The VAE decoder of SD 1.x in reduced depth: {@code post_quant_conv}, {@code decoder.conv_in}, a mid block of
 * two resnets, four up blocks of one resnet each (the first three upsampling by 2, so 8 in all), GroupNorm, SiLU,
 * {@code conv_out}. Input {@code latent_sample [B, 4, h, w]}, output {@code sample [B, 3, 8h, 8w]} in [-1, 1]-ish.
 */
final class VaeDecoderGraph {
    private static final float EPS = 1e-6f;
    private final Layers l;
    private final ReferencePreset p;

    VaeDecoderGraph(Layers layers, ReferencePreset preset) {
        this.l = layers;
        this.p = preset;
    }

    void build(ModelIoTypes io) {
        DataType floatIo = io.float16Io() ? DataType.FLOAT16 : DataType.FLOAT;
        String z = l.g.input("latent_sample", floatIo, "batch", 4L, "height", "width");
        if (io.float16Io()) z = l.op("", "Cast", List.of(z), Attr.i("to", DataType.FLOAT.getNumber()));
        int[] ch = p.vaeChannels();
        String h = l.conv("post_quant_conv", z, 4, 4, 1, 1);
        h = l.conv("decoder.conv_in", h, 4, ch[0], 3, 1);
        h = resnet("decoder.mid_block.resnets.0", h, ch[0], ch[0]);
        h = resnet("decoder.mid_block.resnets.1", h, ch[0], ch[0]);
        int prev = ch[0];
        for (int i = 0; i < 4; i++) {
            h = resnet("decoder.up_blocks." + i + ".resnets.0", h, prev, ch[i]);
            if (i < 3) {
                String m = "decoder.up_blocks." + i + ".upsamplers.0";
                String up = l.op(m, "Resize", List.of(h, "", l.g.constant(l.g.anonymous("Constant"),
                        new float[] {1, 1, 2, 2}, 4)), Attr.s("coordinate_transformation_mode", "asymmetric"),
                        Attr.s("mode", "nearest"), Attr.s("nearest_mode", "floor"));
                h = l.conv(m + ".conv", up, ch[i], ch[i], 3, 1);
            }
            prev = ch[i];
        }
        h = l.groupNorm("decoder.conv_norm_out", h, prev, p.vaeGroups(), EPS);
        h = l.silu("decoder.conv_act", h);
        // a larger gain on the last conv gives the random-weight decoder visible contrast
        String out = l.conv("decoder.conv_out", h, prev, 3, 3, 1, 3.0);
        if (io.float16Io()) {
            l.g.nodeNamed("Cast", "/Cast_out", List.of(out), List.of("sample"), Attr.i("to", DataType.FLOAT16.getNumber()));
        } else {
            l.g.nodeNamed("Identity", "/Identity_out", List.of(out), List.of("sample"));
        }
        l.g.output("sample", floatIo, "batch", 3L, "image_height", "image_width");
    }

    private String resnet(String module, String x, int in, int out) {
        String h = l.groupNorm(module + ".norm1", x, in, p.vaeGroups(), EPS);
        h = l.conv(module + ".conv1", l.silu(module + ".nonlinearity", h), in, out, 3, 1);
        h = l.groupNorm(module + ".norm2", h, out, p.vaeGroups(), EPS);
        h = l.conv(module + ".conv2", l.silu(module + ".nonlinearity", h), out, out, 3, 1);
        String shortcut = in == out ? x : l.conv(module + ".conv_shortcut", x, in, out, 1, 1);
        return l.add(module, shortcut, h);
    }
}
