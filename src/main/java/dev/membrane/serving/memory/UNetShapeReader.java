package dev.membrane.serving.memory;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Reads {@link UNetShape} off a UNet graph by the PyTorch exporter's module names ({@code down_blocks.ℓ.resnets.0.conv1},
 * {@code /down_blocks.ℓ/attentions.0/…}), which both Membrane's reference builder and diffusers/optimum exports
 * carry; where a size is not in the graph, {@code unet/config.json} supplies it.
 */
final class UNetShapeReader {
    /** SD 1.x has 4; a bound keeps a malformed graph from looping. */
    private static final int MAX_LEVELS = 16;

    private UNetShapeReader() {
    }

    static UNetShape read(OnnxShapes g, ComponentConfig config, int contextLength) {
        List<Integer> channels = new ArrayList<>();
        List<Boolean> attention = new ArrayList<>();
        for (int i = 0; i < MAX_LEVELS && g.hasModule("down_blocks." + i); i++) {
            String block = "down_blocks." + i;
            int level = i;
            channels.add(g.weightDim(block + ".resnets.0.conv1", 0).map(Long::intValue)
                    .or(() -> boxed(config.intOrElement("block_out_channels", level)))
                    .orElseThrow(() -> config.missing(g.file(), "channels of " + block, "block_out_channels")));
            attention.add(g.hasModule(block + ".attentions"));
        }
        if (channels.isEmpty()) fromConfig(g, config, channels, attention);
        int first = attention.indexOf(true);
        if (first < 0) throw config.missing(g.file(), "attention levels", "down_block_types");
        int heads = heads(g, config, "down_blocks." + first + ".attentions.0.transformer_blocks.0.attn1", channels.get(first), first);
        int width = contextWidth(g, config, "down_blocks." + first + ".attentions.0.transformer_blocks.0.attn2.to_k");
        return new UNetShape(channels, attention, heads, contextLength, width, elementBytes(g, config));
    }

    private static void fromConfig(OnnxShapes g, ComponentConfig config, List<Integer> channels, List<Boolean> attention) {
        JsonNode out = config.get("block_out_channels").orElseThrow(() -> config.missing(g.file(), "block channels", "block_out_channels"));
        JsonNode types = config.get("down_block_types").orElseThrow(() -> config.missing(g.file(), "attention levels", "down_block_types"));
        for (int i = 0; i < out.size(); i++) {
            channels.add(out.get(i).asInt());
            attention.add(types.path(i).asText("").contains("CrossAttn"));
        }
    }

    /**
     * The heads of {@code attn1}: its q/k/v reshape to {@code [batch, tokens, heads, headDim]} with heads·headDim
     * the level's channels, either a constant shape (the reference builder) or one concatenated at run time from
     * constants (torch's export of {@code view(batch, -1, heads, headDim)}: heads and headDim both appear). Else
     * the config, where SD 1.x names the head count {@code attention_head_dim} (a diffusers misnomer kept for
     * compatibility) unless {@code num_attention_heads} is set.
     */
    private static int heads(OnnxShapes g, ComponentConfig config, String attn1, int channels, int level) {
        for (long[] s : g.reshapeTargets(attn1)) {
            if (s.length == 4 && s[2] > 0 && s[3] > 0 && s[2] * s[3] == channels) return (int) s[2];
        }
        Set<Long> parts = g.concatConstants(attn1);
        // heads ≤ headDim in every SD 1.x UNet (8 × 40 … 8 × 160), which settles which factor is which
        for (long a : parts.stream().filter(v -> v > 1).sorted().toList()) {
            if (channels % a == 0 && a <= channels / a && parts.contains(channels / a)) return (int) a;
        }
        OptionalInt explicit = config.intOrElement("num_attention_heads", level);
        if (explicit.isPresent()) return explicit.getAsInt();
        OptionalInt legacy = config.intOrElement("attention_head_dim", level);
        if (legacy.isPresent()) return legacy.getAsInt();
        throw config.missing(g.file(), "attention heads", "attention_head_dim");
    }

    /** The width of {@code encoder_hidden_states}: the input's declared dim, else attn2.to_k's input side, else the config. */
    private static int contextWidth(OnnxShapes g, ComponentConfig config, String toK) {
        OptionalLong declared = g.inputDim("encoder_hidden_states", 2);
        if (declared.isPresent()) return (int) declared.getAsLong();
        Optional<TensorProto> w = g.weight(toK);
        if (w.isPresent() && w.get().getDimsCount() == 2) {
            // a named Linear weight is torch's [out, in]; the exporter's transposed MatMul weight is [in, out]
            return (int) (w.get().getName().endsWith(".weight") ? w.get().getDims(1) : w.get().getDims(0));
        }
        return boxed(config.intOrElement("cross_attention_dim", 0))
                .orElseThrow(() -> config.missing(g.file(), "cross-attention width", "cross_attention_dim"));
    }

    private static int elementBytes(OnnxShapes g, ComponentConfig config) {
        return g.weight("conv_in").map(t -> ComponentConfig.elementBytes(t.getDataType())).flatMap(UNetShapeReader::boxed)
                .orElseThrow(() -> config.missing(g.file(), "weight type of conv_in", "(none: the type is only in the graph)"));
    }

    static Optional<Integer> boxed(OptionalInt v) {
        return v.isPresent() ? Optional.of(v.getAsInt()) : Optional.empty();
    }
}
