package dev.membrane.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import com.fasterxml.jackson.databind.JsonNode;

import dev.membrane.MembraneException;
import dev.membrane.tokenizer.ClipTokenizer;

/**
 * A policy's prompt-side check, before any generation: blocked terms and regular expressions, matched on the
 * prompt as the tokenizer cleans it (HTML entities unescaped, NFC, whitespace collapsed, lower case), so
 * {@code "N&#65;KED"} and {@code "naked"} match alike. A term matches whole words (not inside another word); a
 * pattern matches anywhere ({@code find}). The negative prompt is not checked: it names what to avoid.
 * <pre>{@code
 * promptCheck:
 *   terms: [gore, "graphic violence"]
 *   patterns: ["n[u4]d(e|ity)"]
 * }</pre>
 */
public record PromptCheck(List<String> terms, List<Pattern> patterns) {
    public static final PromptCheck NONE = new PromptCheck(List.of(), List.of());

    private static Pattern word(String cleanTerm) {
        return Pattern.compile("(?<![\\p{L}\\p{N}])" + Pattern.quote(cleanTerm) + "(?![\\p{L}\\p{N}])");
    }

    /** What matched ("term 'gore'", "pattern 'n[u4]de'"), or empty. */
    public Optional<String> match(String prompt) {
        if (terms.isEmpty() && patterns.isEmpty()) return Optional.empty();
        String clean = forMatching(prompt);
        for (String t : terms) if (word(t).matcher(clean).find()) return Optional.of("term '" + t + "'");
        for (Pattern p : patterns) if (p.matcher(clean).find()) return Optional.of("pattern '" + p.pattern() + "'");
        return Optional.empty();
    }

    /**
     * The cleaned prompt, further folded for matching only: NFKC (full-width and compatibility letters to their
     * plain forms) and format characters (zero-width spaces, joiners) removed, so they cannot split a term.
     */
    static String forMatching(String prompt) {
        String folded = java.text.Normalizer.normalize(ClipTokenizer.cleanText(prompt), java.text.Normalizer.Form.NFKC);
        return folded.replaceAll("\\p{Cf}", "").toLowerCase(java.util.Locale.ROOT);
    }

    static PromptCheck fromJson(String where, JsonNode n) {
        String w = where + ": promptCheck";
        if (n == null || n.isMissingNode() || n.isNull()) return NONE;
        if (!n.isObject()) throw new MembraneException(w + " must be a mapping");
        Keys.only(w, n, "terms", "patterns");
        for (String list : new String[] {"terms", "patterns"}) {
            if (n.has(list) && !n.get(list).isArray()) throw new MembraneException(w + ": '" + list + "' must be a list");
        }
        List<String> terms = new ArrayList<>();
        for (JsonNode t : n.path("terms")) {
            String clean = forMatching(t.asText(""));
            if (clean.isBlank()) throw new MembraneException(w + ": a term is empty");
            terms.add(clean);
        }
        List<Pattern> patterns = new ArrayList<>();
        for (JsonNode p : n.path("patterns")) {
            try {
                patterns.add(Pattern.compile(p.asText(), Pattern.UNICODE_CASE | Pattern.CASE_INSENSITIVE));
            } catch (PatternSyntaxException e) {
                throw new MembraneException(w + ": pattern '" + p.asText() + "' is not a regular expression (" + e.getDescription() + ")");
            }
        }
        return new PromptCheck(List.copyOf(terms), List.copyOf(patterns));
    }
}
