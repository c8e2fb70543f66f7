package dev.membrane.tokenizer;

import java.text.Normalizer;
import java.util.Locale;
import java.util.regex.Pattern;

import org.apache.commons.text.StringEscapeUtils;

/**
 * The text cleanup CLIP applies before BPE ({@code basic_clean} then {@code whitespace_clean}, then lowercasing).
 *
 * <p>The reference uses {@code ftfy.fix_text}, which has no Java port. What it does to prompts in practice is NFC
 * normalisation (its default) and leaving well-formed text alone; mojibake repair is not reproduced. HTML entities
 * are unescaped twice as CLIP's {@code basic_clean} does, with Apache Commons Text.
 */
final class ClipTextNormalizer {
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern NUMERIC_REFERENCE = Pattern.compile("&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));");

    private ClipTextNormalizer() {
    }

    static String normalize(String text) {
        String s = Normalizer.normalize(text, Normalizer.Form.NFC);
        s = unescape(unescape(s)).strip();
        s = WHITESPACE.matcher(s).replaceAll(" ").strip();
        return s.toLowerCase(Locale.ROOT);
    }

    /**
     * HTML unescaping that, like Python's {@code html.unescape}, turns a numeric reference to no code point
     * ({@code &#x110000;}, a surrogate) into U+FFFD; Commons Text throws on those, which would fail a prompt (and
     * every prompt batched with it) instead of cleaning it.
     */
    private static String unescape(String s) {
        java.util.regex.Matcher m = NUMERIC_REFERENCE.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String digits = m.group(1) != null ? m.group(1) : m.group(2);
            java.math.BigInteger value = new java.math.BigInteger(digits, m.group(1) != null ? 16 : 10);
            boolean valid = value.bitLength() <= 21 && value.intValue() <= Character.MAX_CODE_POINT
                    && !(value.intValue() >= 0xD800 && value.intValue() <= 0xDFFF);
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(valid ? m.group() : "\uFFFD"));
        }
        m.appendTail(out);
        return StringEscapeUtils.unescapeHtml4(out.toString());
    }
}
