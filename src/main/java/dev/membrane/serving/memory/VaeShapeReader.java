package dev.membrane.serving.memory;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Reads {@link VaeShape} off a VAE decoder graph by module names ({@code decoder.conv_in},
 * {@code decoder.up_blocks.i.resnets.0.conv1}, {@code decoder.mid_block.attentions.0}); where the graph has no
 * such names, {@code vae_decoder/config.json} (diffusers' AutoencoderKL config) supplies them.
 */
final class VaeShapeReader {
    private static final int MAX_BLOCKS = 16;

    private VaeShapeReader() {
    }

    static VaeShape read(OnnxShapes g, ComponentConfig config) {
        List<Integer> up = new ArrayList<>();
        List<Boolean> upsamples = new ArrayList<>();
        for (int i = 0; i < MAX_BLOCKS && g.hasModule("decoder.up_blocks." + i); i++) {
            String block = "decoder.up_blocks." + i;
            up.add(g.weightDim(block + ".resnets.0.conv1", 0).map(Long::intValue)
                    .orElseThrow(() -> config.missing(g.file(), "channels of " + block, "block_out_channels")));
            upsamples.add(g.hasModule(block + ".upsamplers"));
        }
        int mid;
        boolean midAttention;
        if (!up.isEmpty()) {
            mid = g.weightDim("decoder.conv_in", 0).map(Long::intValue).orElse(up.get(0));
            midAttention = g.hasModule("decoder.mid_block.attentions");
        } else {
            // diffusers lists encoder order (shallowest first); the decoder runs them deepest first, each but the last upsampling
            JsonNode out = config.get("block_out_channels").orElseThrow(() -> config.missing(g.file(), "decoder block channels", "block_out_channels"));
            for (int i = out.size() - 1; i >= 0; i--) {
                up.add(out.get(i).asInt());
                upsamples.add(i > 0);
            }
            mid = up.get(0);
            midAttention = config.get("mid_block_add_attention").map(JsonNode::asBoolean).orElse(true);
        }
        int element = g.weight("decoder.conv_in").or(() -> g.weight("post_quant_conv"))
                .map(t -> ComponentConfig.elementBytes(t.getDataType())).flatMap(UNetShapeReader::boxed)
                .orElseThrow(() -> config.missing(g.file(), "weight type of decoder.conv_in", "(none: the type is only in the graph)"));
        return new VaeShape(mid, midAttention, up, upsamples, element);
    }
}
