package dev.membrane.training.shapes;

import dev.membrane.MembraneException;
import dev.membrane.world.Palette;

/**
 * Every setting of one {@code model train-shapes} run; {@link #standard} is the committed model's.
 *
 * @param seed             the one seed every stage derives its streams from
 * @param palette          the world's colours (classic; deep for the transfer fine-tune)
 * @param imageSize        pixels per side (latents are a eighth)
 * @param vaeSteps         autoencoder steps (0: keep the initial model's VAE, as a fine-tune does)
 * @param vaeBatch         images per autoencoder step
 * @param vaeLearningRate  AdamW peak learning rate
 * @param datasetSize      captioned images encoded once for the UNet
 * @param unetSteps        UNet steps
 * @param unetBatch        latents per UNet step
 * @param unetLearningRate AdamW peak learning rate
 * @param captionDropout   fraction of captions replaced by "" (classifier-free guidance)
 * @param emaDecay         decay of the exported moving average of the UNet's weights
 * @param decoderSteps     decoder-only refinement steps after the UNet (encoder frozen, so the UNet's latents stay
 *                         valid); same batch and learning rate as the autoencoder
 * @param unetRound2Steps  steps of a second UNet round (0: none). It starts from the first round's exported
 *                         average with a fresh warm-up, cosine, AdamW state and average, on the same latents: what a
 *                         {@code --init} fine-tune of the first round does, without re-encoding the data set. On the
 *                         128x128 world it is the step that lifts fidelity (README, "Shapes model").
 */
public record ShapesRecipe(long seed, Palette palette, int imageSize, int vaeSteps, int vaeBatch, float vaeLearningRate,
                           int datasetSize, int unetSteps, int unetBatch, float unetLearningRate, double captionDropout,
                           float emaDecay, int decoderSteps, int unetRound2Steps) {

    /**
     * 128x128 renders (16x16 latents hold a star's five points; at 8x8 the VAE draws a small star back as a blob),
     * 64 latents per UNet step, and the UNet's steps split over two rounds: a second warm-up and cosine from the
     * first round's average is what lifts fidelity past 85% within the 75-minute budget (README, "Shapes model").
     */
    public static ShapesRecipe standard(long seed) {
        return new ShapesRecipe(seed, Palette.CLASSIC, 128, 800, 16, 2e-3f, 20000, 2350, 64, 1e-3f, 0.1, 0.998f, 500, 1050);
    }

    /** A few steps of each stage on a tiny subset, for tests and CI. */
    public static ShapesRecipe smoke(long seed) {
        return new ShapesRecipe(seed, Palette.CLASSIC, 64, 3, 4, 2e-3f, 32, 3, 8, 1e-3f, 0.1, 0.9f, 2, 0);
    }

    public ShapesRecipe withPalette(Palette p) {
        return new ShapesRecipe(seed, p, imageSize, vaeSteps, vaeBatch, vaeLearningRate, datasetSize, unetSteps, unetBatch,
                unetLearningRate, captionDropout, emaDecay, decoderSteps, unetRound2Steps);
    }

    public ShapesRecipe withDecoderSteps(int steps) {
        return new ShapesRecipe(seed, palette, imageSize, vaeSteps, vaeBatch, vaeLearningRate, datasetSize, unetSteps, unetBatch,
                unetLearningRate, captionDropout, emaDecay, steps, unetRound2Steps);
    }

    public ShapesRecipe withSteps(int vae, int unet) {
        return new ShapesRecipe(seed, palette, imageSize, vae, vaeBatch, vaeLearningRate, datasetSize, unet, unetBatch,
                unetLearningRate, captionDropout, emaDecay, decoderSteps, unetRound2Steps);
    }

    public ShapesRecipe withSizes(int dataset, int vaeBatchSize, int unetBatchSize) {
        return new ShapesRecipe(seed, palette, imageSize, vaeSteps, vaeBatchSize, vaeLearningRate, dataset, unetSteps, unetBatchSize,
                unetLearningRate, captionDropout, emaDecay, decoderSteps, unetRound2Steps);
    }

    /** The UNet halves its latents three times, so latent sides are a multiple of 8 and image sides of 64. */
    public ShapesRecipe withImageSize(int side) {
        if (side < 64 || side > 512 || side % 64 != 0) {
            throw new MembraneException("image size must be a multiple of 64 from 64 to 512 (latent sides a multiple of 8), got " + side);
        }
        return new ShapesRecipe(seed, palette, side, vaeSteps, vaeBatch, vaeLearningRate, datasetSize, unetSteps, unetBatch,
                unetLearningRate, captionDropout, emaDecay, decoderSteps, unetRound2Steps);
    }

    public ShapesRecipe withUNetRound2Steps(int steps) {
        if (steps < 0) throw new MembraneException("second-round UNet steps must be 0 or more, got " + steps);
        return new ShapesRecipe(seed, palette, imageSize, vaeSteps, vaeBatch, vaeLearningRate, datasetSize, unetSteps, unetBatch,
                unetLearningRate, captionDropout, emaDecay, decoderSteps, steps);
    }

    /** The recipe of one UNet round: its steps in place of the first round's, and no round after it. */
    ShapesRecipe secondRound() {
        return new ShapesRecipe(seed, palette, imageSize, vaeSteps, vaeBatch, vaeLearningRate, datasetSize, unetRound2Steps, unetBatch,
                unetLearningRate, captionDropout, emaDecay, decoderSteps, 0);
    }

    public ShapesRecipe withUNetLearningRate(float lr) {
        return new ShapesRecipe(seed, palette, imageSize, vaeSteps, vaeBatch, vaeLearningRate, datasetSize, unetSteps, unetBatch,
                lr, captionDropout, emaDecay, decoderSteps, unetRound2Steps);
    }
}
