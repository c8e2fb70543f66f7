package dev.membrane.gateway.outcome;

/**
 * Reasons, headers and log lines quote what producers sent; a 600,000-character field echoed into a dead letter's
 * header once made it larger than its topic accepts. Everything quoted is cut here.
 */
public final class BoundedText {
    /** Longest quoted value. */
    public static final int QUOTE = 256;
    /** Longest reason. */
    public static final int REASON = 1024;

    private BoundedText() {
    }

    /** {@code text} cut to {@code max} characters, saying how many were dropped. */
    public static String cut(String text, int max) {
        if (text == null || text.length() <= max) return text;
        int end = max;
        if (Character.isHighSurrogate(text.charAt(end - 1))) end--;
        return text.substring(0, end) + "…(" + (text.length() - end) + " more characters)";
    }

    public static String quote(String value) {
        return cut(value, QUOTE);
    }

    public static String reason(String text) {
        return cut(text, REASON);
    }
}
