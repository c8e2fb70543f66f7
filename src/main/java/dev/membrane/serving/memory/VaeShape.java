package dev.membrane.serving.memory;

import java.util.List;

/**
 * The VAE decoder sizes that working memory depends on.
 *
 * @param midChannels     width of {@code decoder.conv_in} and the mid block, at latent resolution (SD 1.x: 512)
 * @param midAttention    whether the mid block has its single-head self-attention over all latent pixels
 *                        (SD 1.x: yes; Membrane's reference decoder: no)
 * @param upChannels      output width of each up block, deepest first (SD 1.x: 512, 512, 256, 128)
 * @param upsamples       whether up block i ends with a 2x upsampler (SD 1.x: all but the last), so block i+1
 *                        and that upsampler's conv run at twice block i's side
 * @param elementBytes    bytes of one activation element: 4 for fp32 exports, 2 for fp16
 */
public record VaeShape(int midChannels, boolean midAttention, List<Integer> upChannels, List<Boolean> upsamples,
                       int elementBytes) {
    public VaeShape {
        upChannels = List.copyOf(upChannels);
        upsamples = List.copyOf(upsamples);
        if (upChannels.isEmpty() || upChannels.size() != upsamples.size()) {
            throw new IllegalArgumentException(upChannels.size() + " up blocks but " + upsamples.size() + " upsampler flags");
        }
        if (midChannels < 1) throw new IllegalArgumentException("mid channels must be positive");
        if (elementBytes != 2 && elementBytes != 4) throw new IllegalArgumentException("element bytes must be 2 or 4, got " + elementBytes);
    }
}
