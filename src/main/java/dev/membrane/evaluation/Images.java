package dev.membrane.evaluation;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.PngEncoder;

/** PNG in and out, and the pixel RMS between two images. */
public final class Images {
    private Images() {
    }

    public static BufferedImage decodePng(byte[] png) {
        try {
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
            if (image == null) throw new MembraneException("not a PNG image");
            return image;
        } catch (IOException e) {
            throw new MembraneException("cannot decode a PNG image (" + e.getMessage() + ")");
        }
    }

    /** Writes {@code image} with Membrane's PNG encoder (the bytes depend only on the pixels). */
    public static void writePng(BufferedImage image, Path file) {
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = image.getRGB(x, y);
                int i = (y * w + x) * 3;
                rgb[i] = (byte) (p >> 16);
                rgb[i + 1] = (byte) (p >> 8);
                rgb[i + 2] = (byte) p;
            }
        }
        try {
            Files.write(file, PngEncoder.encodeRgb(rgb, w, h));
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot write image (" + e.getMessage() + ")");
        }
    }

    /** √(mean of squared differences) over every RGB value, with values scaled to [0, 1]. */
    public static double rms(BufferedImage a, BufferedImage b) {
        if (a.getWidth() != b.getWidth() || a.getHeight() != b.getHeight()) throw new IllegalArgumentException("image sizes differ");
        double sum = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                int p = a.getRGB(x, y);
                int q = b.getRGB(x, y);
                for (int shift = 0; shift <= 16; shift += 8) {
                    double d = (((p >> shift) & 0xFF) - ((q >> shift) & 0xFF)) / 255.0;
                    sum += d * d;
                }
            }
        }
        return Math.sqrt(sum / (3.0 * a.getWidth() * a.getHeight()));
    }
}
