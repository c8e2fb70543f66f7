package dev.membrane.safety;

import java.awt.image.BufferedImage;

/**
 * An image as a classifier card's input: 8-bit RGB divided by 255, then, when its size differs, resampled the
 * way TF.js's CPU {@code resizeBilinear} does with {@code alignCorners=true} (what nsfwjs calls): corners map to
 * corners, source coordinates {@code r · (in−1)/(out−1)}, arithmetic in double, values stored as float32. Channels
 * last, written into a batch buffer.
 */
public final class ImagePreprocessing {
    private ImagePreprocessing() {
    }

    /** Writes {@code image} as {@code [height, width, 3]} floats at {@code offset} of {@code out}. */
    public static void toInput(BufferedImage image, int height, int width, float[] out, int offset) {
        int ih = image.getHeight(), iw = image.getWidth();
        float[] src = new float[ih * iw * 3];
        int[] rgb = rgb(image);
        for (int i = 0; i < rgb.length; i++) {
            int p = rgb[i];
            src[3 * i] = (float) (((p >> 16) & 0xff) / 255.0);
            src[3 * i + 1] = (float) (((p >> 8) & 0xff) / 255.0);
            src[3 * i + 2] = (float) ((p & 0xff) / 255.0);
        }
        if (ih == height && iw == width) {
            System.arraycopy(src, 0, out, offset, src.length);
            return;
        }
        double rowRatio = height > 1 ? (ih - 1) / (double) (height - 1) : ih / (double) height;
        double colRatio = width > 1 ? (iw - 1) / (double) (width - 1) : iw / (double) width;
        int o = offset;
        for (int r = 0; r < height; r++) {
            double fr = rowRatio * r;
            int r0 = (int) Math.max(0, Math.floor(fr));
            double rowFrac = fr - r0;
            int r1 = (int) Math.min(ih - 1, Math.ceil(fr));
            for (int c = 0; c < width; c++) {
                double fc = colRatio * c;
                int c0 = (int) Math.max(0, Math.floor(fc));
                double colFrac = fc - c0;
                int c1 = (int) Math.min(iw - 1, Math.ceil(fc));
                for (int d = 0; d < 3; d++) {
                    double tl = src[(r0 * iw + c0) * 3 + d], tr = src[(r0 * iw + c1) * 3 + d];
                    double bl = src[(r1 * iw + c0) * 3 + d], br = src[(r1 * iw + c1) * 3 + d];
                    double top = tl + (tr - tl) * colFrac;
                    double bottom = bl + (br - bl) * colFrac;
                    out[o++] = (float) (top + (bottom - top) * rowFrac);
                }
            }
        }
    }

    /**
     * Packed RGB as the file stores it. A grey image's samples are replicated as they are: {@code getRGB} would
     * convert Java's linear grey colour space to sRGB and brighten them, which no browser or TF.js does.
     */
    static int[] rgb(BufferedImage image) {
        int w = image.getWidth(), h = image.getHeight();
        var raster = image.getRaster();
        if (raster.getNumBands() > 2 || image.getColorModel() instanceof java.awt.image.IndexColorModel) return image.getRGB(0, 0, w, h, null, 0, w);
        int shift = Math.max(0, raster.getSampleModel().getSampleSize(0) - 8);
        int[] out = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = raster.getSample(x, y, 0) >> shift;
                out[y * w + x] = (v << 16) | (v << 8) | v;
            }
        }
        return out;
    }
}
