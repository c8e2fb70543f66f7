package dev.membrane.evaluation;

import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.evaluation.classifier.ConfusionMatrix;

/** JSON helpers shared by the reports: NaN as null, rounding, confusion matrices. */
public final class ReportJson {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private ReportJson() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** The fields every report.json starts with: its mode, the run's settings, the image count. */
    static ObjectNode header(String mode, RunSettings settings, int images) {
        ObjectNode n = object();
        n.put("mode", mode);
        settings.into(n);
        n.put("images", images);
        return n;
    }

    /** Rounded to 6 significant decimals; NaN and infinities become null (JSON has neither). */
    public static void put(ObjectNode n, String key, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) n.putNull(key);
        else n.put(key, Math.round(v * 1e6) / 1e6);
    }

    public static ObjectNode confusion(ConfusionMatrix m) {
        ObjectNode n = object();
        ArrayNode labels = n.putArray("labels");
        m.labels().forEach(labels::add);
        ArrayNode rows = n.putArray("counts");
        for (long[] row : m.counts()) {
            ArrayNode r = rows.addArray();
            for (long c : row) r.add(c);
        }
        put(n, "accuracy", m.accuracy());
        return n;
    }

    public static ArrayNode strings(ObjectNode parent, String key, List<String> values) {
        ArrayNode a = parent.putArray(key);
        values.forEach(a::add);
        return a;
    }

    /** A Markdown table of a confusion matrix (rows: truth, columns: predicted). */
    public static String confusionMarkdown(ConfusionMatrix m) {
        StringBuilder b = new StringBuilder("| truth \\ predicted |");
        for (String l : m.labels()) b.append(' ').append(l).append(" |");
        b.append("\n| --- |");
        b.append(" ---: |".repeat(m.labels().size()));
        b.append('\n');
        for (int i = 0; i < m.labels().size(); i++) {
            b.append("| ").append(m.labels().get(i)).append(" |");
            for (long c : m.counts()[i]) b.append(' ').append(c).append(" |");
            b.append('\n');
        }
        return b.toString();
    }

    public static String pct(double v) {
        return Double.isNaN(v) ? "–" : String.format(java.util.Locale.ROOT, "%.1f%%", 100 * v);
    }

    public static String num(double v) {
        return Double.isNaN(v) ? "–" : String.format(java.util.Locale.ROOT, "%.4g", v);
    }
}
