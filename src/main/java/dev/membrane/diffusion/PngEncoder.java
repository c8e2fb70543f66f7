package dev.membrane.diffusion;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A minimal PNG writer: 8-bit RGB, no interlace, filter 0 on every row, one IDAT chunk, no metadata. It needs no
 * AWT (absent from slim container JREs) and its bytes are a pure function of the pixels.
 */
public final class PngEncoder {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private PngEncoder() {
    }

    /** Encodes interleaved RGB bytes, {@code rgb.length == 3 * width * height}. */
    public static byte[] encodeRgb(byte[] rgb, int width, int height) {
        if (rgb.length != 3 * width * height) throw new IllegalArgumentException("expected " + 3 * width * height + " bytes");
        ByteArrayOutputStream out = new ByteArrayOutputStream(rgb.length / 2 + 64);
        out.writeBytes(SIGNATURE);
        ByteBuffer ihdr = ByteBuffer.allocate(13);
        ihdr.putInt(width).putInt(height).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        byte[] raw = new byte[height * (1 + 3 * width)];
        for (int y = 0; y < height; y++) {
            System.arraycopy(rgb, y * 3 * width, raw, y * (1 + 3 * width) + 1, 3 * width);
        }
        Deflater deflater = new Deflater(6);
        deflater.setInput(raw);
        deflater.finish();
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        while (!deflater.finished()) z.write(buf, 0, deflater.deflate(buf));
        deflater.end();
        chunk(out, "IDAT", z.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(typeBytes);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
