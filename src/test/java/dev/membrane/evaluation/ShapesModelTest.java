package dev.membrane.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.spm.StackingMode;
import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.spm.catalog.CatalogEntry;
import dev.membrane.spm.transport.Transport;
import dev.membrane.testing.ModelFolders;
import dev.membrane.testing.TinyModel;
import dev.membrane.training.Progress;

/**
 * The committed shapes model and its catalog adapters, measured the way the README's tables are (fewer seeds):
 * the model draws what its prompt says, and {@code shapes-circle} at its catalog transport takes circles away while
 * the other shapes stay. The numbers are the committed weights' own (deterministic on one machine); the bounds
 * leave room for another CPU's rounding.
 */
class ShapesModelTest {
    private static final Path MODEL = Path.of("models/shapes");
    private static final Path CLASSIFIER = MODEL.resolve("classifier.onnx");

    @TempDir
    static Path dir;
    private static Path model;

    @BeforeAll
    static void copyModel() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(MODEL.resolve("model_index.json")), "the committed shapes model");
        // a copy: evaluating writes the prepared UNet beside the model, which must not land in the source tree
        model = ModelFolders.copy(MODEL, dir.resolve("shapes"));
    }

    private static EvaluationSpec spec(int seeds) {
        return EvaluationSpec.of(model, CLASSIFIER).withSampling(seeds, 0, 30, 3.0).withBatch(8);
    }

    @Test
    void drawsThePromptsShapeAndColourAtGuidanceThree() {
        FidelityReport r = (FidelityReport) Evaluator.run(spec(2), TinyModel.runtime(), Progress.silent());
        assertEquals(72, r.images());
        // these 2 seeds: 79.2% (colour 95.8%); 8 seeds: 82.3%; stars are the model's known weak point
        assertTrue(r.fidelity() >= 0.7, "fidelity " + r.fidelity());
        assertTrue(r.colours().accuracy() >= 0.9, "colour " + r.colours().accuracy());
    }

    @Test
    void catalogCircleAdapterErasesCirclesAndKeepsTheOtherShapes() {
        CatalogEntry circle = AdapterCatalog.load(Path.of("adapters/catalog.json")).entries().get("shapes-circle");
        assertEquals(Transport.Kind.FACILITATED, circle.transport().kind());
        EvaluationSpec spec = spec(2).withAdapters(List.of(new EvaluationSpec.AdapterSpec(circle.file(), circle.transport().value())),
                Transport.Kind.FACILITATED, StackingMode.LINEAR);
        ErasureReport r = (ErasureReport) Evaluator.run(spec, TinyModel.runtime(), Progress.silent());
        ErasureReport.ConceptResult c = r.concepts().get(0);
        assertEquals("circle", c.concept().word());
        assertTrue(c.target().base() >= 0.9, "the base model draws circles: " + c.target().base());
        // these 2 seeds at the catalog's x1.5: 100% -> 0.0%, the other shapes 100% -> 100% (8 seeds at guidance 7.5: 97.9% -> 4.2%)
        assertTrue(c.target().moderated() <= 0.25, "circle " + c.target().base() + " -> " + c.target().moderated());
        for (ErasureReport.Rate other : c.nonTargets()) {
            assertTrue(other.moderated() >= other.base() - 0.2, other.concept().word() + " " + other.base() + " -> " + other.moderated());
        }
    }
}
