package dev.membrane.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.membrane.MembraneException;
import dev.membrane.evaluation.classifier.Head;
import dev.membrane.evaluation.classifier.Prediction;
import dev.membrane.world.Colour;
import dev.membrane.world.ShapeKind;
import dev.membrane.world.Style;

/** Concept words → heads, the prompt sets, the rates and RMS, and the grid's size. */
class ConceptsAndPromptsTest {
    @Test
    void conceptWordsMapToTheirHeads() {
        assertEquals(new Concept("circle", Head.SHAPE, ShapeKind.CIRCLE.ordinal()), Concept.parse("circle"));
        assertEquals(new Concept("red", Head.COLOUR, Colour.RED.ordinal()), Concept.parse("Red"));
        assertEquals(new Concept("striped", Head.STYLE, Style.STRIPED.ordinal()), Concept.parse("striped"));
        assertEquals(Concept.parse("star"), Concept.parse("a star"));
        assertThrows(MembraneException.class, () -> Concept.parse("a red circle"));
        assertThrows(MembraneException.class, () -> Concept.parse("snoopy"));
    }

    @Test
    void aShapeTargetIsMeasuredOverAllColoursAgainstTheOtherShapes() {
        PromptSet.Plan plan = PromptSet.plan(Concept.parse("circle"), List.of(Concept.parse("circle")));
        assertEquals(List.of("a red circle", "a green circle", "a blue circle", "a yellow circle", "a purple circle", "a orange circle"),
                plan.target().prompts());
        assertEquals(List.of("square", "triangle", "star", "heart", "cross"), plan.nonTargets().stream().map(s -> s.concept().word()).toList());
        assertEquals(List.of("a red square", "a green square", "a blue square", "a yellow square", "a purple square", "a orange square"),
                plan.nonTargets().get(0).prompts());
    }

    @Test
    void aColourTargetVariesTheShape() {
        PromptSet.Plan plan = PromptSet.plan(Concept.parse("red"), List.of(Concept.parse("red")));
        assertEquals(6, plan.target().prompts().size());
        assertTrue(plan.target().prompts().contains("a red heart"));
        assertEquals(5, plan.nonTargets().size());
        assertTrue(plan.nonTargets().get(0).prompts().contains("a green heart"));
    }

    @Test
    void stripesAreMeasuredAgainstSolidPrompts() {
        PromptSet.Plan plan = PromptSet.plan(Concept.parse("striped"), List.of(Concept.parse("striped")));
        assertEquals(36, plan.target().prompts().size());
        assertTrue(plan.target().prompts().contains("a striped blue star"));
        assertEquals(1, plan.nonTargets().size());
        assertEquals("solid", plan.nonTargets().get(0).concept().word());
        assertEquals(36, plan.nonTargets().get(0).prompts().size());
        assertTrue(plan.nonTargets().get(0).prompts().contains("a blue star"));
    }

    @Test
    void otherErasedConceptsAreNotCountedAsPreserved() {
        List<Concept> stack = List.of(Concept.parse("circle"), Concept.parse("star"), Concept.parse("red"));
        PromptSet.Plan plan = PromptSet.plan(Concept.parse("circle"), stack);
        List<String> others = plan.nonTargets().stream().map(s -> s.concept().word()).toList();
        assertEquals(List.of("square", "triangle", "heart", "cross"), others);
        for (PromptSet s : plan.nonTargets()) {
            assertEquals(5, s.prompts().size());
            assertFalse(s.prompts().stream().anyMatch(p -> p.contains("red")));
        }
    }

    private static Generated image(String prompt, ShapeKind shape, Colour colour, int grey) {
        Map<Head, Integer> classes = new EnumMap<>(Head.class);
        classes.put(Head.SHAPE, shape.ordinal());
        classes.put(Head.COLOUR, colour.ordinal());
        classes.put(Head.BACKGROUND, 0);
        classes.put(Head.STYLE, 0);
        BufferedImage img = new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) img.setRGB(x, y, grey << 16 | grey << 8 | grey);
        return new Generated(prompt, 0, false, img, new Prediction(classes, Map.of(), new float[] {grey}), List.of());
    }

    @Test
    void detectionRateCountsTheConceptsClass() {
        Concept circle = Concept.parse("circle");
        List<Generated> images = List.of(image("a", ShapeKind.CIRCLE, Colour.RED, 0), image("b", ShapeKind.STAR, Colour.RED, 0),
                image("c", ShapeKind.CIRCLE, Colour.BLUE, 0), image("d", ShapeKind.HEART, Colour.RED, 0));
        assertEquals(0.5, Metrics.detectionRate(images, circle), 0);
        assertEquals(0.75, Metrics.detectionRate(images, Concept.parse("red")), 0);
        assertTrue(Double.isNaN(Metrics.detectionRate(List.of(), circle)));
    }

    @Test
    void rmsIsOnTheUnitScale() {
        // all values differ by 51 = 0.2 · 255, and by 0 in the second pair: mean RMS (0.2 + 0) / 2
        List<Generated> base = List.of(image("a", ShapeKind.CIRCLE, Colour.RED, 100), image("b", ShapeKind.CIRCLE, Colour.RED, 7));
        List<Generated> moderated = List.of(image("a", ShapeKind.CIRCLE, Colour.RED, 151), image("b", ShapeKind.CIRCLE, Colour.RED, 7));
        assertEquals(0.1, Metrics.meanRms(base, moderated), 1e-12);
    }

    @Test
    void gridHasOneCellPerPromptAndColumn() {
        BufferedImage cell = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        BufferedImage[][] cells = new BufferedImage[3][4];
        for (BufferedImage[] row : cells) java.util.Arrays.fill(row, cell);
        BufferedImage grid = ImageGrid.render(List.of("a", "b", "c"), List.of("base 0", "moderated 0", "base 1", "moderated 1"), cells);
        assertEquals(ImageGrid.LABEL_WIDTH + 4 * (64 + ImageGrid.GAP) + ImageGrid.GAP, grid.getWidth());
        assertEquals(ImageGrid.HEADER_HEIGHT + 3 * (64 + ImageGrid.GAP) + ImageGrid.GAP, grid.getHeight());
        // the first cell's pixels are the image's own (black), placed right after the label column and header
        assertEquals(0, grid.getRGB(ImageGrid.LABEL_WIDTH + ImageGrid.GAP + 10, ImageGrid.HEADER_HEIGHT + ImageGrid.GAP + 10) & 0xFFFFFF);
        // 32-pixel images are doubled to 64
        assertEquals(64, ImageGrid.cellSide(32));
    }

    @Test
    void barChartIsDrawn() {
        BufferedImage bars = BarChart.render("t", List.of("without", "with"), List.of("circle", "square"),
                new double[][] {{1.0, 0.1}, {0.9, Double.NaN}});
        assertEquals(BarChart.TOP + BarChart.PLOT_HEIGHT + BarChart.BOTTOM, bars.getHeight());
        assertTrue(bars.getWidth() >= 360);
    }
}
