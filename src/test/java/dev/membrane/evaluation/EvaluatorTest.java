package dev.membrane.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.evaluation.classifier.ClassifierExport;
import dev.membrane.evaluation.classifier.ClassifierTrainer;
import dev.membrane.spm.ClosedFormDerivation;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.transport.Transport;
import dev.membrane.testing.TinyModel;
import dev.membrane.training.TorchEngine;
import dev.membrane.training.Progress;

/**
 * {@code evaluate} end to end on the tiny reference model (random weights, so the numbers mean nothing; the files,
 * fields and counts do), with a classifier trained for a few steps and closed-form SPMs for "circle" and "striped".
 */
class EvaluatorTest {
    @TempDir
    static Path dir;
    private static Path classifier;
    private static Path circle;
    private static Path striped;

    @BeforeAll
    static void prepare() {
        var engine = TorchEngine.start(Path.of("target", "djl-cache"));
        try (NDManager m = NDManager.newBaseManager()) {
            var r = new ClassifierTrainer(engine, m).train(new ClassifierTrainer.Options(1, 2, 8, 1e-3, 1, true), Progress.silent());
            classifier = dir.resolve("classifier.onnx");
            ClassifierExport.write(r.weights(), Map.of(), classifier);
        }
        try (StableDiffusionPipeline p = StableDiffusionPipeline.open(TinyModel.dir(), TinyModel.runtime())) {
            circle = derive(p, "circle");
            striped = derive(p, "striped");
        }
    }

    private static Path derive(StableDiffusionPipeline p, String concept) {
        ClosedFormDerivation.Derived d = ClosedFormDerivation.derive(p.promptEncoder(), TinyModel.dir().resolve("unet/model.onnx"),
                new ClosedFormDerivation.Spec(concept, "", List.of(), 0.5));
        Path file = dir.resolve(concept + ".safetensors");
        SpmFile.write(file, List.of(concept), d.sites(), d.modules());
        return file;
    }

    private static EvaluationSpec spec() {
        return EvaluationSpec.of(TinyModel.dir(), classifier).withSampling(1, 3, 2, 7.5).withBatch(8);
    }

    @Test
    void erasureWritesEveryFileWithTheDocumentedFields() throws Exception {
        EvaluationSpec spec = spec().withAdapters(List.of(new EvaluationSpec.AdapterSpec(circle, 1.0), new EvaluationSpec.AdapterSpec(striped, 2.0)),
                Transport.Kind.FIXED, StackingMode.LINEAR);
        EvaluationReport report = Evaluator.run(spec, TinyModel.runtime(), Progress.silent());
        Path out = dir.resolve("erasure");
        List<Path> files = ReportFiles.write(report, out);
        for (String name : ReportFiles.NAMES) assertTrue(Files.size(out.resolve(name)) > 0, name);
        assertEquals(4, files.size());

        JsonNode json = ReportJson.MAPPER.readTree(out.resolve("report.json").toFile());
        assertEquals("erasure", json.get("mode").asText());
        assertEquals(2, json.get("adapters").size());
        assertEquals("fixed", json.get("transport").asText());
        // circle: its 6 prompts, 5 other shapes × 6 colours; striped: 36 striped prompts, and as solid the 30 solid prompts
        // that do not name circle (which circle's non-targets already are): 72 prompts, each base and moderated
        JsonNode concepts = json.get("concepts");
        assertEquals(2, concepts.size());
        JsonNode c = concepts.get(0);
        assertEquals("circle", c.get("concept").asText());
        assertEquals("shape", c.get("head").asText());
        assertEquals(6, c.get("target").get("images").asInt());
        for (String f : List.of("detectionBase", "detectionModerated", "meanGamma")) assertTrue(c.get("target").get(f).isNumber(), f);
        assertEquals(5, c.get("nonTargets").size());
        for (String f : List.of("nonTargetDetectionBase", "nonTargetDetectionModerated", "frechetNonTarget", "rmsNonTarget", "rmsTarget")) {
            assertTrue(c.get(f).isNumber(), f);
        }
        assertEquals(1.0, c.get("nonTargets").get(0).get("meanGamma").asDouble(), 1e-9, "circle's adapter at its fixed γ");
        JsonNode s = concepts.get(1);
        assertEquals("striped", s.get("concept").asText());
        assertEquals(36, s.get("target").get("images").asInt());
        assertEquals(2.0, s.get("target").get("meanGamma").asDouble(), 1e-9, "striped's adapter at its fixed γ");
        assertEquals("solid", s.get("nonTargets").get(0).get("concept").asText());
        assertEquals(30, s.get("nonTargets").get(0).get("images").asInt(), "solid prompts naming circle are not preserved");
        assertTrue(c.get("rmsTarget").asDouble() > 0, "the adapters change the images");
        assertEquals(2 * (6 + 30 + 36), json.get("images").asInt());

        BufferedImage grid = ImageIO.read(out.resolve("grid.png").toFile());
        int[] dims = ImageGrid.dimensions(6 + 30 + 36, 2, 64);
        assertEquals(dims[0], grid.getWidth());
        assertEquals(dims[1], grid.getHeight());
        assertTrue(Files.readString(out.resolve("report.md")).contains("| circle | shape |"));
    }

    @Test
    void aWeightUnderFacilitatedTransportMultipliesTheFactor() throws Exception {
        // FILE:W under facilitated is the catalog's per-adapter factor: γ = W · factor · max(s_f, s_t), and s_t = 1
        // on prompts that name the concept, so the target's γ is exactly W · factor
        EvaluationSpec spec = spec().withAdapters(List.of(new EvaluationSpec.AdapterSpec(circle, 2.0)), Transport.Kind.FACILITATED,
                StackingMode.LINEAR).withTransportFactor(1.5);
        ErasureReport report = (ErasureReport) Evaluator.run(spec, TinyModel.runtime(), Progress.silent());
        ErasureReport.ConceptResult c = report.concepts().get(0);
        assertEquals(3.0, c.target().gamma(), 1e-9);
        for (ErasureReport.Rate other : c.nonTargets()) {
            assertTrue(other.gamma() < 3.0 && other.gamma() > 0, other.concept().word() + " γ " + other.gamma());
        }
    }

    @Test
    void fidelityCoversEveryShapeAndColour() throws Exception {
        // another sampler than the model's scheduler_config.json (PNDM), and the report says which
        EvaluationReport report = Evaluator.run(spec().withScheduler(SchedulerKind.EULER),
                TinyModel.runtime(), Progress.silent());
        Path out = dir.resolve("fidelity");
        ReportFiles.write(report, out);
        JsonNode json = ReportJson.MAPPER.readTree(out.resolve("report.json").toFile());
        assertEquals("fidelity", json.get("mode").asText());
        assertEquals("euler", json.get("scheduler").asText());
        assertEquals(36, json.get("images").asInt());
        assertTrue(json.get("fidelity").isNumber());
        for (String m : List.of("shapeConfusion", "colourConfusion")) {
            JsonNode counts = json.get(m).get("counts");
            assertEquals(6, counts.size());
            long total = 0;
            for (JsonNode row : counts) {
                assertEquals(6, row.size());
                long rowTotal = 0;
                for (JsonNode v : row) rowTotal += v.asLong();
                assertEquals(6, rowTotal, "each prompt shape/colour appears over 6 prompts × 1 seed");
                total += rowTotal;
            }
            assertEquals(36, total);
        }
        assertEquals(36, json.get("perPrompt").size());
        for (String name : ReportFiles.NAMES) assertTrue(Files.exists(out.resolve(name)), name);
    }
}
