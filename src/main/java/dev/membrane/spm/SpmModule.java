package dev.membrane.spm;

/**
 * One module of an SPM file: ΔW = (alpha / rank) · U · D with D = {@code lora_down} [rank, in] and U =
 * {@code lora_up} [out, rank] (1x1-conv shapes flattened).
 *
 * @param key   the key prefix ({@code lora_unet_…})
 * @param down  D, row-major [rank, in]
 * @param up    U, row-major [out, rank]
 * @param rank  r
 * @param in    input features
 * @param out   output features
 * @param alpha the module's alpha (the rank where the file has 0 or no {@code .alpha}, so that scale = 1)
 */
public record SpmModule(String key, float[] down, float[] up, int rank, int in, int out, float alpha) {
    public double scale() {
        return alpha / (double) rank;
    }
}
