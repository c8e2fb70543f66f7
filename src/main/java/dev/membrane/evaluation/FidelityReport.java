package dev.membrane.evaluation;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.evaluation.classifier.ConfusionMatrix;
import dev.membrane.world.Colour;
import dev.membrane.world.ShapeKind;

/**
 * How well a model draws what it is asked: over every "a {colour} {shape}" prompt and seed, the fraction of images
 * the classifier reads as the prompt's shape and colour both, and the shape and colour confusion matrices (rows:
 * the prompt's, columns: the classifier's).
 *
 * @param perPrompt per prompt, the fraction of its seeds drawn right (shape and colour)
 */
public record FidelityReport(RunSettings settings, int images, double fidelity, ConfusionMatrix shapes, ConfusionMatrix colours,
                             Map<String, Double> perPrompt, ErasureReport.Grid grid, ErasureReport.Timings timings)
        implements EvaluationReport {
    public FidelityReport {
        perPrompt = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(perPrompt));
    }

    @Override
    public String mode() {
        return "fidelity";
    }

    @Override
    public ObjectNode json() {
        ObjectNode n = ReportJson.header(mode(), settings, images);
        ReportJson.put(n, "fidelity", fidelity);
        ReportJson.put(n, "shapeAccuracy", shapes.accuracy());
        ReportJson.put(n, "colourAccuracy", colours.accuracy());
        n.set("shapeConfusion", ReportJson.confusion(shapes));
        n.set("colourConfusion", ReportJson.confusion(colours));
        ArrayNode p = n.putArray("perPrompt");
        perPrompt.forEach((prompt, v) -> {
            ObjectNode o = p.addObject();
            o.put("prompt", prompt);
            ReportJson.put(o, "fidelity", v);
        });
        timings.into(n);
        return n;
    }

    @Override
    public String markdown() {
        StringBuilder b = new StringBuilder("# Fidelity evaluation\n\n");
        b.append(settings.markdownHeader());
        b.append("| images | fidelity (shape and colour) | shape accuracy | colour accuracy |\n| ---: | ---: | ---: | ---: |\n");
        b.append("| ").append(images).append(" | ").append(ReportJson.pct(fidelity)).append(" | ").append(ReportJson.pct(shapes.accuracy()))
                .append(" | ").append(ReportJson.pct(colours.accuracy())).append(" |\n\n");
        b.append("## Shape confusion (rows: prompt, columns: classifier)\n\n").append(ReportJson.confusionMarkdown(shapes));
        b.append("\n## Colour confusion (rows: prompt, columns: classifier)\n\n").append(ReportJson.confusionMarkdown(colours));
        b.append("\n## Per prompt\n\n| prompt | fidelity |\n| --- | ---: |\n");
        perPrompt.forEach((prompt, v) -> b.append("| ").append(prompt).append(" | ").append(ReportJson.pct(v)).append(" |\n"));
        b.append(timings.markdownFooter(images));
        return b.toString();
    }

    @Override
    public BufferedImage renderGrid() {
        return ImageGrid.render(grid.rows(), grid.columns(), grid.cells());
    }

    /** Per shape and per colour of the prompt: how often the classifier saw it. */
    @Override
    public BufferedImage renderBars() {
        List<String> groups = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        for (ShapeKind s : ShapeKind.values()) {
            groups.add(s.word());
            values.add(new double[] {shapes.rate(s.ordinal(), s.ordinal())});
        }
        for (Colour c : Colour.values()) {
            groups.add(c.word());
            values.add(new double[] {colours.rate(c.ordinal(), c.ordinal())});
        }
        return BarChart.render("Fidelity: prompt's shape / colour recognised", List.of("recognised"), groups, values.toArray(new double[0][]));
    }
}
