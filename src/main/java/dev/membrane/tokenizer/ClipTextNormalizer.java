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

    private ClipTextNormalizer() {
    }

    static String normalize(String text) {
        String s = Normalizer.normalize(text, Normalizer.Form.NFC);
        s = StringEscapeUtils.unescapeHtml4(StringEscapeUtils.unescapeHtml4(s)).strip();
        s = WHITESPACE.matcher(s).replaceAll(" ").strip();
        return s.toLowerCase(Locale.ROOT);
    }
}
