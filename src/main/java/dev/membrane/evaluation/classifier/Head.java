package dev.membrane.evaluation.classifier;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import dev.membrane.world.Background;
import dev.membrane.world.Colour;
import dev.membrane.world.Scene;
import dev.membrane.world.ShapeKind;
import dev.membrane.world.Style;

/**
 * The classifier's four heads, one per attribute of a {@link Scene}. A class index is the attribute's enum
 * ordinal, so labels and the world's enums cannot drift apart.
 */
public enum Head {
    SHAPE("shape", words(ShapeKind.values())),
    COLOUR("colour", words(Colour.values())),
    BACKGROUND("background", words(Background.values())),
    STYLE("style", words(Style.values()));

    private final String id;
    private final List<String> labels;

    Head(String id, List<String> labels) {
        this.id = id;
        this.labels = labels;
    }

    /** Lower-case enum names (not caption words: solid has no caption word). */
    private static List<String> words(Enum<?>[] values) {
        return Arrays.stream(values).map(v -> v.name().toLowerCase(Locale.ROOT)).toList();
    }

    public String id() {
        return id;
    }

    public int classes() {
        return labels.size();
    }

    public List<String> labels() {
        return labels;
    }

    /** The graph output holding this head's logits. */
    public String output() {
        return id + "_logits";
    }

    /** The class of {@code scene} under this head. */
    public int labelOf(Scene scene) {
        return switch (this) {
            case SHAPE -> scene.shape().ordinal();
            case COLOUR -> scene.colour().ordinal();
            case BACKGROUND -> scene.background().ordinal();
            case STYLE -> scene.style().ordinal();
        };
    }
}
