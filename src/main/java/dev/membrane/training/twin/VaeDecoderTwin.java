package dev.membrane.training.twin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.onnx.proto.OnnxMl.GraphProto;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.membrane.spm.UNetPreparer;
import dev.membrane.training.twin.TwinLayers.Conv;
import dev.membrane.training.twin.TwinLayers.GroupNorm;

/**
 * A differentiable twin of the VAE decoder as the reference builder writes it ({@code post_quant_conv},
 * {@code decoder.conv_in}, mid-block resnets, up blocks of resnets with nearest-2x upsamplers, GroupNorm, SiLU,
 * {@code conv_out}), weights read from {@code vae_decoder/model.onnx} by initializer name, so that training it
 * and writing the values back gives the same graph with new weights. Not thread-safe.
 */
public final class VaeDecoderTwin implements AutoCloseable {
    private final NDManager manager;
    private final Conv postQuant;
    private final Conv convIn;
    private final List<Resnet> mid;
    private final List<UpBlock> up;
    private final GroupNorm normOut;
    private final Conv convOut;
    private final List<TwinParameter> parameters;

    /** A resnet without a time embedding: norm1 → SiLU → conv1 → norm2 → SiLU → conv2, + (conv_shortcut) x. */
    record Resnet(GroupNorm norm1, Conv conv1, GroupNorm norm2, Conv conv2, Conv shortcut) {
        static Resnet load(OnnxGraphIndex g, NDManager m, String module) {
            Conv shortcut = g.has(module + ".conv_shortcut", "Conv") ? Conv.load(g, m, module + ".conv_shortcut") : null;
            return new Resnet(GroupNorm.load(g, m, module + ".norm1"), Conv.load(g, m, module + ".conv1"),
                    GroupNorm.load(g, m, module + ".norm2"), Conv.load(g, m, module + ".conv2"), shortcut);
        }

        NDArray forward(NDArray x) {
            NDArray h = conv1.forward(TwinLayers.silu(norm1.forward(x)), SiteAdapters.NONE);
            h = conv2.forward(TwinLayers.silu(norm2.forward(h)), SiteAdapters.NONE);
            return (shortcut == null ? x : shortcut.forward(x, SiteAdapters.NONE)).add(h);
        }
    }

    record UpBlock(List<Resnet> resnets, Conv upsampler) {
    }

    private VaeDecoderTwin(NDManager manager, Conv postQuant, Conv convIn, List<Resnet> mid, List<UpBlock> up,
                           GroupNorm normOut, Conv convOut, List<TwinParameter> parameters) {
        this.manager = manager;
        this.postQuant = postQuant;
        this.convIn = convIn;
        this.mid = mid;
        this.up = up;
        this.normOut = normOut;
        this.convOut = convOut;
        this.parameters = parameters;
    }

    public static VaeDecoderTwin load(Path decoderFile, NDManager parent) {
        GraphProto graph = UNetPreparer.readModel(decoderFile).getGraph();
        OnnxGraphIndex g = new OnnxGraphIndex(graph, decoderFile.toAbsolutePath().getParent(), decoderFile.toString());
        NDManager m = parent.newSubManager();
        try {
            Conv postQuant = Conv.load(g, m, "post_quant_conv");
            Conv convIn = Conv.load(g, m, "decoder.conv_in");
            List<Resnet> mid = new ArrayList<>();
            for (int j = 0; g.has("decoder.mid_block.resnets." + j + ".conv1", "Conv"); j++) {
                mid.add(Resnet.load(g, m, "decoder.mid_block.resnets." + j));
            }
            if (g.has("decoder.mid_block.attentions.0.to_q", "MatMul")) {
                throw g.unmapped("decoder.mid_block.attentions.0: the decoder twin has no mid-block attention");
            }
            List<UpBlock> up = new ArrayList<>();
            for (int i = 0; g.has("decoder.up_blocks." + i + ".resnets.0.conv1", "Conv"); i++) {
                String block = "decoder.up_blocks." + i;
                List<Resnet> resnets = new ArrayList<>();
                for (int j = 0; g.has(block + ".resnets." + j + ".conv1", "Conv"); j++) resnets.add(Resnet.load(g, m, block + ".resnets." + j));
                Conv us = null;
                if (g.has(block + ".upsamplers.0.conv", "Conv")) {
                    requireNearest2x(g, block + ".upsamplers.0");
                    us = Conv.load(g, m, block + ".upsamplers.0.conv");
                }
                up.add(new UpBlock(resnets, us));
            }
            GroupNorm normOut = GroupNorm.load(g, m, "decoder.conv_norm_out");
            Conv convOut = Conv.load(g, m, "decoder.conv_out");
            g.firstUnmapped().ifPresent(node -> {
                throw g.unmapped("node " + node + " is not part of the VAE decoder as the twin knows it");
            });
            return new VaeDecoderTwin(m, postQuant, convIn, mid, up, normOut, convOut, g.parameters());
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** The upsampler's Resize must scale by exactly [1, 1, 2, 2] (nearest), which is what the twin computes. */
    private static void requireNearest2x(OnnxGraphIndex g, String module) {
        var resize = g.require(module, "Resize");
        if (resize.getInputCount() < 3) throw g.unmapped(resize.getName() + " has no scales input");
        float[] scales = g.floats(resize.getInput(2));
        if (!java.util.Arrays.equals(scales, new float[] {1, 1, 2, 2})) {
            throw g.unmapped(resize.getName() + " scales by " + java.util.Arrays.toString(scales) + ", not [1, 1, 2, 2]");
        }
    }

    /** {@code latent [B, 4, h, w]} (already divided by the scaling factor) → {@code [B, 3, 8h, 8w]}. */
    public NDArray decode(NDArray latent) {
        NDArray h = convIn.forward(postQuant.forward(latent, SiteAdapters.NONE), SiteAdapters.NONE);
        for (Resnet r : mid) h = r.forward(h);
        for (UpBlock block : up) {
            for (Resnet r : block.resnets()) h = r.forward(h);
            if (block.upsampler() != null) h = block.upsampler().forward(h.repeat(2, 2).repeat(3, 2), SiteAdapters.NONE);
        }
        return convOut.forward(TwinLayers.silu(normOut.forward(h)), SiteAdapters.NONE);
    }

    public List<TwinParameter> parameters() {
        return parameters;
    }

    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }
}
