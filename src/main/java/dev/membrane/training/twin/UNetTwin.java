package dev.membrane.training.twin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl.GraphProto;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.AdapterSites;
import dev.membrane.spm.UNetPreparer;
import dev.membrane.training.twin.TwinBlocks.Resnet;
import dev.membrane.training.twin.TwinBlocks.Transformer;
import dev.membrane.training.twin.TwinBlocks.Upsample;
import dev.membrane.training.twin.TwinLayers.Conv;
import dev.membrane.training.twin.TwinLayers.GroupNorm;
import dev.membrane.training.twin.TwinLayers.Linear;

/**
 * A differentiable twin of the served SD 1.x UNet on DJL's PyTorch engine, with its weights read from the same
 * ONNX export ONNX Runtime serves (reference presets and diffusers/optimum exports, fp32 or fp16, inline or
 * external data). The topology is SD 1.x's; every width, head count, group count, epsilon, stride and padding is
 * read from the graph. A graph the twin cannot map is refused, naming the first node it could not account for.
 *
 * <p>The weights are frozen (they never require gradients) and shared by every call; adapters enter through
 * {@link SiteAdapters}, so only their factors are trained. Not thread-safe: one trainer uses it.
 */
public final class UNetTwin implements AutoCloseable {
    private final NDManager manager;
    private final List<AdapterSite> sites;
    private final NDArray frequencies;
    private final Conv convIn;
    private final Linear time1;
    private final Linear time2;
    private final List<Level> down;
    private final Resnet mid1;
    private final Transformer midAttention;
    private final Resnet mid2;
    private final List<Level> up;
    private final GroupNorm normOut;
    private final Conv convOut;
    private List<TwinParameter> parameters = List.of();

    /** One down or up block: resnets, their transformers (or none), and the resampler (or none). */
    private record Level(List<Resnet> resnets, List<Transformer> attentions, Conv downsampler, Upsample upsampler) {
    }

    private UNetTwin(NDManager manager, List<AdapterSite> sites, NDArray frequencies, Conv convIn, Linear time1,
                     Linear time2, List<Level> down, Resnet mid1, Transformer midAttention, Resnet mid2,
                     List<Level> up, GroupNorm normOut, Conv convOut) {
        this.manager = manager;
        this.sites = sites;
        this.frequencies = frequencies;
        this.convIn = convIn;
        this.time1 = time1;
        this.time2 = time2;
        this.down = down;
        this.mid1 = mid1;
        this.midAttention = midAttention;
        this.mid2 = mid2;
        this.up = up;
        this.normOut = normOut;
        this.convOut = convOut;
    }

    /** Loads {@code unet/model.onnx} (not a prepared graph) into a manager of its own on {@code parent}'s device. */
    public static UNetTwin load(Path unetFile, NDManager parent) {
        GraphProto graph = UNetPreparer.readModel(unetFile).getGraph();
        String source = unetFile.toString();
        for (var in : graph.getInputList()) {
            if (in.getName().startsWith("spm_")) {
                throw new dev.membrane.MembraneException(source + ": the training twin loads the unprepared UNet (model.onnx), not a prepared one");
            }
        }
        Path dir = unetFile.toAbsolutePath().getParent();
        OnnxGraphIndex g = new OnnxGraphIndex(graph, dir, source);
        NDManager m = parent.newSubManager();
        try {
            UNetTwin twin = build(g, m, dir, AdapterSites.find(graph));
            g.firstUnmapped().ifPresent(node -> {
                throw g.unmapped("node " + node + " is not part of SD 1.x's UNet as the twin knows it");
            });
            twin.parameters = g.parameters();
            return twin;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private static UNetTwin build(OnnxGraphIndex g, NDManager m, Path dir, List<AdapterSite> sites) {
        Conv convIn = Conv.load(g, m, "conv_in");
        Linear time1 = Linear.gemm(g, m, "time_embedding.linear_1");
        Linear time2 = Linear.gemm(g, m, "time_embedding.linear_2");
        NDArray freqs = timeFrequencies(g, m, time1.in());
        List<Level> down = new ArrayList<>();
        for (int i = 0; g.has("down_blocks." + i + ".resnets.0.conv1", "Conv"); i++) {
            String block = "down_blocks." + i;
            Level level = level(g, m, dir, block);
            Conv ds = g.has(block + ".downsamplers.0.conv", "Conv") ? Conv.load(g, m, block + ".downsamplers.0.conv") : null;
            down.add(new Level(level.resnets(), level.attentions(), ds, null));
        }
        if (down.isEmpty()) throw g.unmapped("no down_blocks.0 (node /down_blocks.0/resnets.0/conv1/Conv)");
        Resnet mid1 = Resnet.load(g, m, "mid_block.resnets.0");
        Transformer midAttention = Transformer.load(g, m, "mid_block.attentions.0", dir);
        Resnet mid2 = Resnet.load(g, m, "mid_block.resnets.1");
        List<Level> up = new ArrayList<>();
        for (int i = 0; g.has("up_blocks." + i + ".resnets.0.conv1", "Conv"); i++) {
            String block = "up_blocks." + i;
            Level level = level(g, m, dir, block);
            Upsample us = g.has(block + ".upsamplers.0.conv", "Conv") ? new Upsample(Conv.load(g, m, block + ".upsamplers.0.conv")) : null;
            up.add(new Level(level.resnets(), level.attentions(), null, us));
        }
        if (up.size() != down.size()) throw g.unmapped(down.size() + " down blocks but " + up.size() + " up blocks");
        GroupNorm normOut = GroupNorm.load(g, m, "conv_norm_out");
        Conv convOut = Conv.load(g, m, "conv_out");
        return new UNetTwin(m, sites, freqs, convIn, time1, time2, down, mid1, midAttention, mid2, up, normOut, convOut);
    }

    private static Level level(OnnxGraphIndex g, NDManager m, Path dir, String block) {
        List<Resnet> resnets = new ArrayList<>();
        List<Transformer> attentions = new ArrayList<>();
        for (int j = 0; g.has(block + ".resnets." + j + ".conv1", "Conv"); j++) {
            resnets.add(Resnet.load(g, m, block + ".resnets." + j));
            String attention = block + ".attentions." + j;
            if (g.has(attention + ".norm", "InstanceNormalization")) attentions.add(Transformer.load(g, m, attention, dir));
        }
        if (!attentions.isEmpty() && attentions.size() != resnets.size()) {
            throw g.unmapped(block + " has " + resnets.size() + " resnets but " + attentions.size() + " attentions");
        }
        return new Level(resnets, attentions, null, null);
    }

    /**
     * The sinusoidal embedding's frequencies exp(-ln(10000)·i/half) (flip_sin_to_cos, shift 0): the constant of
     * {@code /time_proj/Mul} where the export kept one, else computed.
     */
    private static NDArray timeFrequencies(OnnxGraphIndex g, NDManager m, int dim) {
        int half = dim / 2;
        var mul = g.node("time_proj", "Mul").flatMap(g::weightInput);
        if (mul.isPresent()) {
            float[] f = g.floats(mul.get());
            if (f.length != half) throw g.unmapped("/time_proj/Mul has " + f.length + " frequencies for a " + dim + "-wide embedding");
            return m.create(f, new Shape(1, half));
        }
        float[] f = new float[half];
        for (int i = 0; i < half; i++) f[i] = (float) Math.exp(-Math.log(10000) * i / half);
        return m.create(f, new Shape(1, half));
    }

    /** The SPM sites of the graph (the 192 of SD 1.x), as the gateway's preparer finds them. */
    public List<AdapterSite> sites() {
        return sites;
    }

    /**
     * Every weight, bias and norm affine of the UNet with the initializer it came from. SPM training leaves them
     * frozen; training the model itself (the shapes model) marks them as requiring gradients and writes them back.
     */
    public List<TwinParameter> parameters() {
        return parameters;
    }

    /** The manager holding the frozen weights; callers create activations in sub-managers of it. */
    public NDManager manager() {
        return manager;
    }

    /**
     * The noise prediction for {@code sample [B, 4, h, w]}, {@code timestep [B]} and {@code context [B, S, d]}, all
     * in the caller's manager (the results join it).
     */
    public NDArray predict(NDArray sample, NDArray timestep, NDArray context, SiteAdapters adapters) {
        NDArray args = timestep.reshape(-1, 1).mul(frequencies);
        NDArray emb = args.cos().concat(args.sin(), 1);
        NDArray temb = time2.forward(TwinLayers.silu(time1.forward(emb, SiteAdapters.NONE)), SiteAdapters.NONE);
        NDArray tembSilu = TwinLayers.silu(temb);
        NDArray h = convIn.forward(sample, SiteAdapters.NONE);
        Deque<NDArray> skips = new ArrayDeque<>();
        skips.push(h);
        for (Level level : down) {
            for (int j = 0; j < level.resnets().size(); j++) {
                h = level.resnets().get(j).forward(h, tembSilu);
                if (!level.attentions().isEmpty()) h = level.attentions().get(j).forward(h, context, adapters);
                skips.push(h);
            }
            if (level.downsampler() != null) {
                h = level.downsampler().forward(h, SiteAdapters.NONE);
                skips.push(h);
            }
        }
        h = mid1.forward(h, tembSilu);
        h = midAttention.forward(h, context, adapters);
        h = mid2.forward(h, tembSilu);
        for (Level level : up) {
            for (int j = 0; j < level.resnets().size(); j++) {
                h = h.concat(skips.pop(), 1);
                h = level.resnets().get(j).forward(h, tembSilu);
                if (!level.attentions().isEmpty()) h = level.attentions().get(j).forward(h, context, adapters);
            }
            if (level.upsampler() != null) h = level.upsampler().forward(h, skips.peek().getShape());
        }
        h = TwinLayers.silu(normOut.forward(h));
        return convOut.forward(h, SiteAdapters.NONE);
    }

    @Override
    public void close() {
        manager.close();
    }
}
