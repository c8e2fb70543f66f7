package dev.membrane.evaluation;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.membrane.MembraneException;

/** Writes a report's four files into a folder: report.md, report.json, grid.png, bars.png. */
public final class ReportFiles {
    public static final List<String> NAMES = List.of("report.md", "report.json", "grid.png", "bars.png");

    private ReportFiles() {
    }

    /** Returns the files written, in {@link #NAMES} order. */
    public static List<Path> write(EvaluationReport report, Path dir) {
        try {
            Files.createDirectories(dir);
            Path md = dir.resolve(NAMES.get(0));
            Path json = dir.resolve(NAMES.get(1));
            Files.writeString(md, report.markdown(), StandardCharsets.UTF_8);
            Files.writeString(json, ReportJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report.json()) + "\n",
                    StandardCharsets.UTF_8);
            Path grid = dir.resolve(NAMES.get(2));
            Path bars = dir.resolve(NAMES.get(3));
            Images.writePng(report.renderGrid(), grid);
            Images.writePng(report.renderBars(), bars);
            return List.of(md, json, grid, bars);
        } catch (IOException e) {
            throw new MembraneException(dir + ": cannot write the report (" + e.getMessage() + ")");
        }
    }
}
