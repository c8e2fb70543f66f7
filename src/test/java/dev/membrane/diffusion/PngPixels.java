package dev.membrane.diffusion;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import javax.imageio.ImageIO;

/** Test helper: decodes PNGs with the JDK's independent decoder. */
final class PngPixels {
    private PngPixels() {
    }

    static BufferedImage decode(byte[] png) {
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
            if (img == null) throw new AssertionError("not a PNG the JDK can read");
            return img;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int maxAbsDiff(byte[] pngA, byte[] pngB) {
        BufferedImage a = decode(pngA);
        BufferedImage b = decode(pngB);
        if (a.getWidth() != b.getWidth() || a.getHeight() != b.getHeight()) throw new AssertionError("sizes differ");
        int max = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                int pa = a.getRGB(x, y);
                int pb = b.getRGB(x, y);
                for (int s = 0; s < 24; s += 8) max = Math.max(max, Math.abs(((pa >> s) & 0xFF) - ((pb >> s) & 0xFF)));
            }
        }
        return max;
    }
}
