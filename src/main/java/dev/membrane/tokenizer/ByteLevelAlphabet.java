package dev.membrane.tokenizer;

/**
 * GPT-2/CLIP byte-level alphabet ({@code bytes_to_unicode}): every byte maps to one printable code point,
 * so that BPE can work on strings without whitespace or control characters. Printable Latin-1 bytes map to
 * themselves; the other 68 bytes map to U+0100 onwards in byte order.
 */
public final class ByteLevelAlphabet {
    private static final char[] BYTE_TO_CHAR = new char[256];

    static {
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int next = 0;
        for (int b = 0; b < 256; b++) {
            BYTE_TO_CHAR[b] = printable[b] ? (char) b : (char) (256 + next++);
        }
    }

    private ByteLevelAlphabet() {
    }

    /** The code point that stands for byte {@code b} (0..255). */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte-level string for the UTF-8 bytes of {@code text}. */
    public static String encode(String text) {
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        return new String(out);
    }
}
