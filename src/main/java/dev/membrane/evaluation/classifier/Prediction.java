package dev.membrane.evaluation.classifier;

import java.util.Map;

import dev.membrane.world.Background;
import dev.membrane.world.Colour;
import dev.membrane.world.ShapeKind;
import dev.membrane.world.Style;

/**
 * What the classifier sees in one image.
 *
 * @param classes       per head, the most probable class (the enum ordinal)
 * @param probabilities per head, the softmax over its classes
 * @param features      the penultimate layer ({@link ClassifierArchitecture#FEATURES} values)
 */
public record Prediction(Map<Head, Integer> classes, Map<Head, float[]> probabilities, float[] features) {
    public Prediction {
        classes = Map.copyOf(classes);
        probabilities = Map.copyOf(probabilities);
    }

    public int classOf(Head head) {
        return classes.get(head);
    }

    public ShapeKind shape() {
        return ShapeKind.values()[classOf(Head.SHAPE)];
    }

    public Colour colour() {
        return Colour.values()[classOf(Head.COLOUR)];
    }

    public Background background() {
        return Background.values()[classOf(Head.BACKGROUND)];
    }

    public Style style() {
        return Style.values()[classOf(Head.STYLE)];
    }
}
