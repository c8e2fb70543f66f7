package dev.membrane.world;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

import dev.membrane.MembraneException;

/**
 * RGB values for the six colours. {@link #CLASSIC} is the world the shapes model is trained on; {@link #DEEP} is a
 * shifted world (darker, less saturated tones of the same colours) used to fine-tune a model for the training-free
 * transfer check, the way community fine-tunes shift SD 1.4's distribution.
 */
public record Palette(String id, Map<Colour, Integer> rgb) {
    public static final Palette CLASSIC = of("classic", 0xDC1E1E, 0x1EAA32, 0x1E3CDC, 0xF0D214, 0x8C28B4, 0xF58214);
    public static final Palette DEEP = of("deep", 0x9E1A2E, 0x1E7848, 0x283C8C, 0xC8A01E, 0x5A2878, 0xC8641E);

    public Palette {
        rgb = Map.copyOf(rgb);
        for (Colour c : Colour.values()) {
            if (!rgb.containsKey(c)) throw new MembraneException("palette " + id + " has no value for " + c.word());
        }
    }

    private static Palette of(String id, int red, int green, int blue, int yellow, int purple, int orange) {
        Map<Colour, Integer> m = new EnumMap<>(Colour.class);
        m.put(Colour.RED, red);
        m.put(Colour.GREEN, green);
        m.put(Colour.BLUE, blue);
        m.put(Colour.YELLOW, yellow);
        m.put(Colour.PURPLE, purple);
        m.put(Colour.ORANGE, orange);
        return new Palette(id, m);
    }

    public int rgb(Colour c) {
        return rgb.get(c);
    }

    public static Palette parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "classic" -> CLASSIC;
            case "deep" -> DEEP;
            default -> throw new MembraneException("unknown palette '" + text + "' (classic, deep)");
        };
    }
}
