package dev.membrane.evaluation.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.safety.ClassifierCard;
import dev.membrane.safety.ImageClassifier;
import dev.membrane.world.Palette;
import dev.membrane.world.ShapesWorld;

/**
 * The concept classifier wrapped as an output classifier gives, per label, the softmax of the concept
 * classifier's own logits on the same renders (ShapesClassifier, its planar input built in Java), and calls the
 * rendered shapes what they are.
 */
class ConceptOutputClassifierTest {
    private static final Path COMMITTED = Path.of("models/shapes/classifier.onnx");

    @Test
    void scoresAreEachHeadsSoftmaxOfTheConceptClassifier(@TempDir Path dir) {
        Assumptions.assumeTrue(Files.exists(COMMITTED), "no committed classifier at " + COMMITTED);
        OrtRuntime runtime = OrtRuntime.create(RuntimeConfig.cpuDefaults());
        ClassifierCard card = ConceptOutputClassifier.write(COMMITTED, dir.resolve("out"));
        assertEquals(17, card.labels().size());
        assertEquals("circle", card.labels().get(0));
        assertEquals("striped", card.labels().get(16));
        ShapesWorld world = new ShapesWorld(Palette.CLASSIC);
        SplittableRandom random = new SplittableRandom(11);
        List<BufferedImage> images = new ArrayList<>();
        for (int i = 0; i < 12; i++) images.add(world.render(world.randomScene(random), 64));
        try (ImageClassifier wrapped = ImageClassifier.open(runtime, dir.resolve("out"));
             ShapesClassifier concept = ShapesClassifier.open(runtime, COMMITTED)) {
            List<ImageClassifier.Scores> scores = wrapped.classify(images);
            List<Prediction> predictions = concept.classify(images);
            for (int i = 0; i < images.size(); i++) {
                for (Head h : Head.values()) {
                    float[] p = predictions.get(i).probabilities().get(h);
                    for (int k = 0; k < h.classes(); k++) {
                        assertEquals(p[k], scores.get(i).byLabel().get(h.labels().get(k)), 1e-5, "image " + i + " " + h.labels().get(k));
                    }
                }
                String shape = Head.SHAPE.labels().get(predictions.get(i).classes().get(Head.SHAPE));
                assertTrue(scores.get(i).byLabel().get(shape) > 0.5, "image " + i + " is a " + shape);
            }
        }
        // reused while its source is unchanged
        assertEquals(dir.resolve("out"), ConceptOutputClassifier.ensure(COMMITTED, dir.resolve("out")));
    }

    /** A circle in one end of a wide image: squashed whole it is no circle, the check's tiles find it. */
    @Test
    void theCheckFindsAConceptInOnePartOfAWideImage(@TempDir Path dir) {
        Assumptions.assumeTrue(Files.exists(COMMITTED), "no committed classifier at " + COMMITTED);
        OrtRuntime runtime = OrtRuntime.create(RuntimeConfig.cpuDefaults());
        ConceptOutputClassifier.write(COMMITTED, dir.resolve("out"));
        ShapesWorld world = new ShapesWorld(Palette.CLASSIC);
        BufferedImage circle = world.render(new dev.membrane.world.Scene(dev.membrane.world.ShapeKind.CIRCLE, dev.membrane.world.Colour.RED,
                dev.membrane.world.Background.WHITE, dev.membrane.world.Style.SOLID, 0.6, 0.5, 0.5), 64);
        BufferedImage wide = new BufferedImage(256, 64, BufferedImage.TYPE_INT_RGB);
        var g = wide.createGraphics();
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, 256, 64);
        g.drawImage(circle, 192, 0, null);
        g.dispose();
        try (ImageClassifier c = ImageClassifier.open(runtime, dir.resolve("out"))) {
            double whole = c.classify(List.of(wide)).get(0).byLabel().get("circle");
            double checked = c.classifyForCheck(List.of(wide)).get(0).byLabel().get("circle");
            assertTrue(whole < 0.5, "squashed to 64x64 the circle is no circle: " + whole);
            assertTrue(checked > 0.5, "the tiles see the circle: " + checked);
            assertTrue(checked >= whole, "the check is never weaker than the whole image's score");
            // a square image is classified once, as TF.js would
            assertEquals(c.classify(List.of(circle)).get(0).byLabel(), c.classifyForCheck(List.of(circle)).get(0).byLabel());
        }
    }
}
