package dev.membrane.diffusion;

/**
 * Latents → RGB bytes, as diffusers' ONNX pipeline does: decode {@code latents / 0.18215}, then
 * {@code round(clip(x / 2 + 0.5, 0, 1) · 255)} (round half to even, like numpy). Thread-safe.
 */
public final class LatentDecoder {
    /** SD 1.x's VAE scaling factor. */
    public static final double VAE_SCALING = 0.18215;
    private final VaeDecoderModel vae;

    public LatentDecoder(VaeDecoderModel vae) {
        this.vae = vae;
    }

    /** One interleaved RGB byte array per image. */
    public byte[][] decode(float[] latents, long[] shape, int width, int height) {
        float[] scaled = new float[latents.length];
        for (int i = 0; i < latents.length; i++) scaled[i] = (float) (latents[i] / VAE_SCALING);
        VaeDecoderModel.Decoded d = vae.decode(scaled, shape);
        int batch = (int) d.shape()[0];
        int h = (int) d.shape()[2];
        int w = (int) d.shape()[3];
        if (d.shape()[1] != 3 || h != height || w != width) {
            throw new dev.membrane.MembraneException("VAE decoder returned " + java.util.Arrays.toString(d.shape())
                    + " for a " + width + "x" + height + " image");
        }
        byte[][] images = new byte[batch][3 * w * h];
        int plane = w * h;
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < 3; c++) {
                for (int p = 0; p < plane; p++) {
                    double v = d.pixels()[(b * 3 + c) * plane + p] / 2.0 + 0.5;
                    v = Math.max(0, Math.min(1, v));
                    images[b][p * 3 + c] = (byte) (int) Math.rint(v * 255);
                }
            }
        }
        return images;
    }
}
