package dev.membrane.world;

import java.util.Locale;

/** The three plain backgrounds. */
public enum Background {
    WHITE(0xFFFFFF), BLACK(0x000000), GRAY(0x808080);

    private final int rgb;

    Background(int rgb) {
        this.rgb = rgb;
    }

    public int rgb() {
        return rgb;
    }

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
