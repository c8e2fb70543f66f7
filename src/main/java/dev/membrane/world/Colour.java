package dev.membrane.world;

import java.util.Locale;

/** The six shape colours; their RGB values come from a {@link Palette}. */
public enum Colour {
    RED, GREEN, BLUE, YELLOW, PURPLE, ORANGE;

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
