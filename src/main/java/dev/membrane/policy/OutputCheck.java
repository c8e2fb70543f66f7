package dev.membrane.policy;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.membrane.MembraneException;

/**
 * A policy's check of its generated images: the classifier (by its card's id, optionally pinned to its graph's
 * SHA-256) and, per label, a threshold and an action.
 * <pre>{@code
 * outputCheck:
 *   classifier: nsfwjs-mobilenet_v2
 *   sha256: 156bdcf8...            # optional: the classifier's model.onnx must have this SHA-256
 *   rules:
 *     Porn:   {threshold: 0.6, action: block}
 *     Sexy:   {threshold: 0.8, action: flag}
 * }</pre>
 *
 * @param classifier the classifier's id
 * @param sha256     the pin of its graph, or null
 * @param rules      the rules, in document order
 */
public record OutputCheck(String classifier, String sha256, List<Rule> rules) {

    /** One label's rule. */
    public record Rule(String label, double threshold, OutputAction action) {
    }

    /** A rule whose label reached its threshold on an image. */
    public record Fired(String label, double score, double threshold, OutputAction action) {
    }

    /**
     * One image's check: its scores, every rule that fired, and the strongest action among them
     * ({@link OutputAction#ALLOW} when none fired).
     */
    public record Verdict(Map<String, Double> scores, List<Fired> fired, OutputAction action) {
        /** "Porn 0.93 ≥ 0.6 (block)", for reasons. */
        public String describe() {
            return String.join(", ", fired.stream().map(f -> String.format(java.util.Locale.ROOT, "%s %.4f >= %s (%s)",
                    f.label(), f.score(), f.threshold(), f.action().id())).toList());
        }
    }

    public Verdict judge(Map<String, Double> scores) {
        List<Fired> fired = new ArrayList<>();
        OutputAction strongest = OutputAction.ALLOW;
        for (Rule r : rules) {
            Double s = scores.get(r.label());
            // a label the scores lack cannot be cleared: fail closed (the store refuses such policies first)
            double score = s == null ? Double.NaN : s;
            if (Double.isNaN(score) || score >= r.threshold()) {
                fired.add(new Fired(r.label(), score, r.threshold(), r.action()));
                if (r.action().compareTo(strongest) > 0) strongest = r.action();
            }
        }
        return new Verdict(scores, List.copyOf(fired), strongest);
    }

    static OutputCheck fromJson(String where, JsonNode n) {
        String w = where + ": outputCheck";
        if (!n.isObject()) throw new MembraneException(w + " must be a mapping");
        Keys.only(w, n, "classifier", "sha256", "rules");
        String classifier = n.path("classifier").asText("");
        if (classifier.isBlank()) throw new MembraneException(w + " needs 'classifier' (a classifier's id)");
        String sha = n.hasNonNull("sha256") ? n.get("sha256").asText() : null;
        if (sha != null && !sha.matches("[0-9a-f]{64}")) throw new MembraneException(w + ": sha256 must be 64 lower-case hex digits");
        JsonNode rs = n.path("rules");
        if (!rs.isObject() || rs.isEmpty()) throw new MembraneException(w + " needs 'rules': label → {threshold, action}");
        List<Rule> rules = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = rs.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String rw = w + " rule '" + e.getKey() + "'";
            if (!e.getValue().isObject()) throw new MembraneException(rw + " must be {threshold, action}");
            Keys.only(rw, e.getValue(), "threshold", "action");
            JsonNode t = e.getValue().path("threshold");
            if (!t.isNumber() || t.asDouble() < 0 || t.asDouble() > 1) throw new MembraneException(rw + ": threshold must be a number in [0, 1]");
            rules.add(new Rule(e.getKey(), t.asDouble(), OutputAction.parse(rw, e.getValue().path("action").asText(""))));
        }
        return new OutputCheck(classifier, sha, List.copyOf(rules));
    }
}
