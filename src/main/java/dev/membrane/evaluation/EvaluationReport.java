package dev.membrane.evaluation;

import java.awt.image.BufferedImage;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** What {@code evaluate} found: erasure per concept, or fidelity; each writes itself to JSON and Markdown. */
public sealed interface EvaluationReport permits ErasureReport, FidelityReport {
    /** {@code "erasure"} or {@code "fidelity"}. */
    String mode();

    /** The whole report (report.json). */
    ObjectNode json();

    /** The report as Markdown tables (report.md). */
    String markdown();

    /** Prompts × images (grid.png). */
    BufferedImage renderGrid();

    /** Detection rates as bars (bars.png). */
    BufferedImage renderBars();
}
