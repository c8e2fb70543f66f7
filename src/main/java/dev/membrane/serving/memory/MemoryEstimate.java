package dev.membrane.serving.memory;

/**
 * The working memory of one batch beyond the loaded weights, term by term (bytes); see {@link MemoryModel}.
 *
 * @param fixedBytes   per-process runtime overhead that appears with the first run (kernel scratch, thread stacks, JIT)
 * @param latentBytes  the Java-side latent arrays of the denoising loop
 * @param unetBytes    the UNet's largest set of live activations at the batch's rows
 * @param vaeBytes     the VAE decoder's largest set of live activations for the batch's images
 * @param pixelBytes   the decoded images: the decoder's output tensor, its float copy and the RGB bytes
 */
public record MemoryEstimate(long fixedBytes, long latentBytes, long unetBytes, long vaeBytes, long pixelBytes) {
    public long totalBytes() {
        return fixedBytes + latentBytes + unetBytes + vaeBytes + pixelBytes;
    }
}
