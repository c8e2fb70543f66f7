package dev.membrane.evaluation;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Erasure and preservation per concept of an adapter stack: on the target's prompts the fraction of images the
 * classifier assigns to the target class without and with the adapters; the same for every non-target concept of
 * its head; the Fréchet distance (classifier features) and the mean pixel RMS between base and moderated images of
 * the non-target prompts.
 *
 * @param concepts one per concept the stack's prompts name
 * @param images   images generated (base and moderated)
 * @param grid     the prompts × (base, moderated) grid
 */
public record ErasureReport(RunSettings settings, List<ConceptResult> concepts, int images, Grid grid, Timings timings)
        implements EvaluationReport {
    public ErasureReport {
        concepts = List.copyOf(concepts);
    }

    /**
     * A detection rate on one prompt set.
     *
     * @param images    images per condition (prompts × seeds)
     * @param base      without adapters
     * @param moderated with the stack
     * @param gamma     mean γ the concept's adapter(s) got on these prompts (NaN under none)
     */
    public record Rate(Concept concept, List<String> prompts, int images, double base, double moderated, double gamma) {
        public Rate {
            prompts = List.copyOf(prompts);
        }

        ObjectNode json(boolean withPrompts) {
            ObjectNode n = ReportJson.object();
            n.put("concept", concept.word());
            n.put("head", concept.head().id());
            if (withPrompts) ReportJson.strings(n, "prompts", prompts);
            n.put("images", images);
            ReportJson.put(n, "detectionBase", base);
            ReportJson.put(n, "detectionModerated", moderated);
            ReportJson.put(n, "meanGamma", gamma);
            return n;
        }
    }

    /**
     * @param target           the target's prompts (erasure: {@code moderated} should be low)
     * @param nonTargets       the other concepts of its head (preservation: {@code moderated} should stay at {@code base})
     * @param frechetNonTarget Fréchet distance between base and moderated images of all non-target prompts
     * @param rmsNonTarget     mean pixel RMS ([0, 1] scale) between base and moderated non-target images
     * @param rmsTarget        the same on the target's prompts
     */
    public record ConceptResult(Concept concept, Rate target, List<Rate> nonTargets, double frechetNonTarget,
                                double rmsNonTarget, double rmsTarget) {
        public ConceptResult {
            nonTargets = List.copyOf(nonTargets);
        }

        public double nonTargetBase() {
            return nonTargets.stream().mapToDouble(Rate::base).average().orElse(Double.NaN);
        }

        public double nonTargetModerated() {
            return nonTargets.stream().mapToDouble(Rate::moderated).average().orElse(Double.NaN);
        }
    }

    /** Rows (prompt labels), columns and cells of grid.png. */
    public record Grid(List<String> rows, List<String> columns, BufferedImage[][] cells) {
    }

    public record Timings(double generateMs, double classifyMs, double totalMs) {
        void into(ObjectNode n) {
            ObjectNode t = n.putObject("timingsMs");
            ReportJson.put(t, "generate", Math.round(generateMs * 10) / 10.0);
            ReportJson.put(t, "classify", Math.round(classifyMs * 10) / 10.0);
            ReportJson.put(t, "total", Math.round(totalMs * 10) / 10.0);
        }

        /** The last line of report.md: how many images, and how long it took. */
        String markdownFooter(int images) {
            return "\n" + images + " images; generation " + Math.round(generateMs / 1000) + " s, total " + Math.round(totalMs / 1000) + " s.\n";
        }
    }

    @Override
    public String mode() {
        return "erasure";
    }

    @Override
    public ObjectNode json() {
        ObjectNode n = ReportJson.header(mode(), settings, images);
        ArrayNode list = n.putArray("concepts");
        for (ConceptResult c : concepts) {
            ObjectNode o = list.addObject();
            o.put("concept", c.concept().word());
            o.put("head", c.concept().head().id());
            o.set("target", c.target().json(true));
            ArrayNode nt = o.putArray("nonTargets");
            for (Rate r : c.nonTargets()) nt.add(r.json(false));
            ReportJson.put(o, "nonTargetDetectionBase", c.nonTargetBase());
            ReportJson.put(o, "nonTargetDetectionModerated", c.nonTargetModerated());
            ReportJson.put(o, "frechetNonTarget", c.frechetNonTarget());
            ReportJson.put(o, "rmsNonTarget", c.rmsNonTarget());
            ReportJson.put(o, "rmsTarget", c.rmsTarget());
        }
        timings.into(n);
        return n;
    }

    @Override
    public String markdown() {
        StringBuilder b = new StringBuilder("# Erasure evaluation\n\n");
        b.append(settings.markdownHeader());
        b.append("Detection rate: the fraction of images the shapes classifier assigns to the concept's class. ")
                .append("Erasure wants the target's rate to fall with the adapters; preservation wants every non-target's to stay. ")
                .append("FD: Fréchet distance between base and moderated non-target images on the classifier's features; ")
                .append("RMS: mean pixel RMS between them (0–1 scale).\n\n");
        b.append("| concept | head | target without | target with | non-target without | non-target with | FD non-target | RMS non-target | RMS target | γ target | γ non-target |\n");
        b.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (ConceptResult c : concepts) {
            double gammaNonTarget = c.nonTargets().stream().mapToDouble(Rate::gamma).average().orElse(Double.NaN);
            b.append("| ").append(c.concept().word()).append(" | ").append(c.concept().head().id())
                    .append(" | ").append(ReportJson.pct(c.target().base())).append(" | ").append(ReportJson.pct(c.target().moderated()))
                    .append(" | ").append(ReportJson.pct(c.nonTargetBase())).append(" | ").append(ReportJson.pct(c.nonTargetModerated()))
                    .append(" | ").append(ReportJson.num(c.frechetNonTarget())).append(" | ").append(ReportJson.num(c.rmsNonTarget()))
                    .append(" | ").append(ReportJson.num(c.rmsTarget())).append(" | ").append(ReportJson.num(c.target().gamma()))
                    .append(" | ").append(ReportJson.num(gammaNonTarget)).append(" |\n");
        }
        for (ConceptResult c : concepts) {
            b.append("\n## ").append(c.concept().word()).append("\n\n");
            b.append("| prompts of | role | images | detected without | detected with | mean γ |\n| --- | --- | ---: | ---: | ---: | ---: |\n");
            row(b, c.target(), "target");
            for (Rate r : c.nonTargets()) row(b, r, "non-target");
        }
        b.append(timings.markdownFooter(images));
        return b.toString();
    }

    private static void row(StringBuilder b, Rate r, String role) {
        b.append("| ").append(r.concept().word()).append(" | ").append(role).append(" | ").append(r.images()).append(" | ")
                .append(ReportJson.pct(r.base())).append(" | ").append(ReportJson.pct(r.moderated())).append(" | ")
                .append(ReportJson.num(r.gamma())).append(" |\n");
    }

    @Override
    public BufferedImage renderGrid() {
        return ImageGrid.render(grid.rows(), grid.columns(), grid.cells());
    }

    /** Per concept: its target and each non-target, without and with the adapters. */
    @Override
    public BufferedImage renderBars() {
        List<String> groups = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        for (ConceptResult c : concepts) {
            groups.add(c.concept().word() + " (target)");
            values.add(new double[] {c.target().base(), c.target().moderated()});
            for (Rate r : c.nonTargets()) {
                groups.add(r.concept().word() + " [" + c.concept().word() + "]");
                values.add(new double[] {r.base(), r.moderated()});
            }
        }
        return BarChart.render("Detection rate by the shapes classifier", List.of("without adapters", "with adapters"), groups,
                values.toArray(new double[0][]));
    }
}
