package dev.membrane.serving.memory;

/**
 * How a request of N images at W×H fits a memory budget: whole, split across batches of at most
 * {@link #imagesPerBatch} images, or not at all (even one image needs more than the budget: the gateway rejects
 * it as {@code OVER_BUDGET} before any work).
 *
 * @param verdict        one batch, split, or over budget
 * @param imagesPerBatch the largest number of the request's images one batch can hold; 0 when over budget
 * @param batches        batches the request needs; 0 when over budget
 * @param peakBytes      the estimate of a batch of {@code imagesPerBatch} images, or of one image when over budget
 * @param budgetBytes    the budget it was measured against
 */
public record BatchFit(Verdict verdict, int imagesPerBatch, int batches, long peakBytes, long budgetBytes) {

    public enum Verdict {
        /** All images in one batch. */
        ONE_BATCH,
        /** The images go in several batches of at most {@code imagesPerBatch}. */
        SPLIT,
        /** Not even one image fits. */
        OVER_BUDGET
    }

    public boolean fits() {
        return verdict != Verdict.OVER_BUDGET;
    }

    /** Each image decoded with its batch; with guidance each image is two UNet rows (unconditional and conditional). */
    static BatchFit of(MemoryModel model, int width, int height, int images, boolean guided, long budgetBytes) {
        if (images < 1) throw new IllegalArgumentException("at least one image, got " + images);
        int rowsPerImage = guided ? 2 : 1;
        // the estimate grows with the batch, so the largest batch that fits is found by counting down
        for (int k = images; k >= 1; k--) {
            long peak = model.peakBytes(width, height, k * rowsPerImage, k);
            if (peak <= budgetBytes) {
                int batches = (images + k - 1) / k;
                return new BatchFit(k == images ? Verdict.ONE_BATCH : Verdict.SPLIT, k, batches, peak, budgetBytes);
            }
        }
        return new BatchFit(Verdict.OVER_BUDGET, 0, 0, model.peakBytes(width, height, rowsPerImage, 1), budgetBytes);
    }
}
