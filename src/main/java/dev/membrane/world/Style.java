package dev.membrane.world;

import java.util.Locale;

/** How a shape is filled: solid (no caption word) or striped (diagonal stripes of its colour and white). */
public enum Style {
    SOLID, STRIPED;

    /** The caption word, empty for the unmarked solid fill. */
    public String word() {
        return this == SOLID ? "" : name().toLowerCase(Locale.ROOT);
    }
}
