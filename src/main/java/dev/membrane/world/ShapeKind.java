package dev.membrane.world;

import java.util.Locale;

/** The six shapes of the procedural world, each drawn upright (never rotated). */
public enum ShapeKind {
    CIRCLE, SQUARE, TRIANGLE, STAR, HEART, CROSS;

    /** The caption word. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
