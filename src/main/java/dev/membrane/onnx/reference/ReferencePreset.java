package dev.membrane.onnx.reference;

import java.util.Locale;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.scheduler.SchedulerKind;

/**
 * Sizes of a reference model. Both presets have SD 1.x's exact UNet topology (4 down blocks of 2 resnets, the
 * first three with 2 attentions each; a mid block with 1; 4 up blocks of 3 resnets, the last three with 3
 * attentions each); they differ in widths.
 *
 * @param id              preset name
 * @param textWidth       text encoder width d (= the UNet's cross-attention width)
 * @param textLayers      text encoder transformer layers
 * @param textHeads       text encoder attention heads
 * @param tokenStd        standard deviation of the text encoder's random token embeddings (CLIP: 0.02)
 * @param unetChannels    UNet block_out_channels (4 values)
 * @param unetGroups      GroupNorm groups in the UNet
 * @param unetHeads       attention heads in every UNet transformer block (SD 1.x: 8)
 * @param vaeChannels     VAE decoder block widths, deepest first (4 values)
 * @param vaeGroups       GroupNorm groups in the VAE
 * @param imageSize       default image side in pixels
 * @param scheduler       the sampler written to {@code scheduler_config.json}, and so the model's default: PNDM (SD
 *                        1.x's) or Euler
 */
public record ReferencePreset(String id, int textWidth, int textLayers, int textHeads, double tokenStd, int[] unetChannels,
                              int unetGroups, int unetHeads, int[] vaeChannels, int vaeGroups, int imageSize,
                              SchedulerKind scheduler) {

    /** Tests and demo: a 64x64 image takes a few milliseconds per UNet step on CPU. */
    public static final ReferencePreset TINY = new ReferencePreset("tiny", 32, 2, 2, 0.02,
            new int[] {32, 64, 64, 64}, 8, 2, new int[] {32, 32, 16, 16}, 8, 64, SchedulerKind.PNDM);

    /**
     * The shapes model (see {@code model train-shapes}): tiny's text encoder and VAE decoder; a UNet 32 wide at every
     * level, since at 8x8 latents the first level carries the shape (tiny's wider deep levels cost 50% more per step
     * for little gain there). Its text encoder stays frozen at random
     * weights, so its token embeddings are drawn 50x larger than CLIP's: each position's state is then mostly its own
     * word rather than a causal average of the words before it, and the UNet's cross-attention can tell "circle"
     * from "square" from the first step (at CLIP's 0.02 the shape word was half colour at its own position).
     * It samples with Euler: PNDM's multistep extrapolation amplifies the guided difference of a model this small,
     * and at guidance 7.5 (every request's default) it drew 46% of the prompts right where Euler draws 77%.
     */
    public static final ReferencePreset SHAPES = new ReferencePreset("shapes", 32, 2, 2, 1.0,
            new int[] {32, 32, 32, 32}, 8, 2, new int[] {32, 32, 16, 16}, 8, 64, SchedulerKind.EULER);

    /** SD 1.5's real UNet widths (320/640/1280, 8 heads, cross-attention 768; ~860M parameters), random weights. */
    public static final ReferencePreset SD15 = new ReferencePreset("sd15", 768, 2, 12, 0.02,
            new int[] {320, 640, 1280, 1280}, 32, 8, new int[] {128, 128, 64, 64}, 32, 256, SchedulerKind.PNDM);

    /**
     * The side a command draws at when none is asked for: the one the model was trained at, else its reference
     * preset's, else {@code fallback} (a model Membrane did not build).
     */
    public static int defaultSide(ModelFolder folder, int fallback) {
        if (folder.imageSize() != null) return folder.imageSize();
        return folder.referencePreset() != null ? parse(folder.referencePreset()).imageSize() : fallback;
    }

    public static ReferencePreset parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "tiny" -> TINY;
            case "sd15" -> SD15;
            case "shapes" -> SHAPES;
            default -> throw new MembraneException("unknown preset '" + text + "' (tiny, shapes, sd15)");
        };
    }

    /** Time embedding width: 4 × the first block's channels, as in SD. */
    int timeEmbedDim() {
        return 4 * unetChannels[0];
    }
}
