package dev.membrane.diffusion;

/**
 * Text encoder output {@code last_hidden_state}, flat in row-major [batch, length, width] order.
 *
 * @param data   the values (not copied; treat as read-only)
 * @param batch  prompts
 * @param length tokens per prompt (77)
 * @param width  hidden width d
 */
public record TextEmbeddings(float[] data, int batch, int length, int width) {
    public TextEmbeddings {
        if ((long) batch * length * width != data.length) {
            throw new IllegalArgumentException("embeddings of " + data.length + " values for " + batch + "x" + length + "x" + width);
        }
    }

    /** Prompt {@code i}'s [length, width] block, copied. */
    public float[] row(int i) {
        int n = length * width;
        float[] out = new float[n];
        System.arraycopy(data, i * n, out, 0, n);
        return out;
    }

    public long[] shape() {
        return new long[] {batch, length, width};
    }
}
