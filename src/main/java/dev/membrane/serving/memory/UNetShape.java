package dev.membrane.serving.memory;

import java.util.List;

/**
 * The UNet sizes that working memory depends on.
 *
 * @param blockChannels   output channels of each resolution level (SD 1.x: 320, 640, 1280, 1280); level ℓ runs at
 *                        the latent side halved ℓ times (every level but the last downsamples)
 * @param attention       whether level ℓ has transformer blocks (SD 1.x: the first three)
 * @param heads           attention heads of the transformer blocks (SD 1.x: 8)
 * @param contextLength   tokens of the cross-attention context (CLIP: 77)
 * @param contextWidth    width of the cross-attention context (SD 1.x: 768)
 * @param elementBytes    bytes of one activation element: 4 for fp32 exports, 2 for fp16
 */
public record UNetShape(List<Integer> blockChannels, List<Boolean> attention, int heads, int contextLength,
                        int contextWidth, int elementBytes) {
    public UNetShape {
        blockChannels = List.copyOf(blockChannels);
        attention = List.copyOf(attention);
        if (blockChannels.isEmpty() || blockChannels.size() != attention.size()) {
            throw new IllegalArgumentException(blockChannels.size() + " levels but " + attention.size() + " attention flags");
        }
        if (heads < 1 || contextLength < 1 || contextWidth < 1) throw new IllegalArgumentException("heads, context length and width must be positive");
        if (elementBytes != 2 && elementBytes != 4) throw new IllegalArgumentException("element bytes must be 2 or 4, got " + elementBytes);
    }

    public int levels() {
        return blockChannels.size();
    }
}
