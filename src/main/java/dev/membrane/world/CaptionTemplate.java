package dev.membrane.world;

/**
 * The caption templates. A template decides which attributes the caption states; the unstated ones are drawn at
 * random when a scene is sampled for it (an unstated style is always solid: stripes are always named).
 */
public enum CaptionTemplate {
    /** "a {colour} {shape}" */
    COLOUR_SHAPE(true, false, false),
    /** "a {colour} {shape} on a {background} background" */
    COLOUR_SHAPE_BACKGROUND(true, true, false),
    /** "a {shape}" (random colour) */
    SHAPE(false, false, false),
    /** "a {style} {colour} {shape}" */
    STYLE_COLOUR_SHAPE(true, false, true),
    /** "a {style} {colour} {shape} on a {background} background" */
    STYLE_COLOUR_SHAPE_BACKGROUND(true, true, true);

    private final boolean colour;
    private final boolean background;
    private final boolean style;

    CaptionTemplate(boolean colour, boolean background, boolean style) {
        this.colour = colour;
        this.background = background;
        this.style = style;
    }

    public boolean statesStyle() {
        return style;
    }

    /** The lower-case caption of {@code scene} under this template. */
    public String caption(Scene scene) {
        StringBuilder b = new StringBuilder("a ");
        if (style && scene.style() != Style.SOLID) b.append(scene.style().word()).append(' ');
        if (colour) b.append(scene.colour().word()).append(' ');
        b.append(scene.shape().word());
        if (background) b.append(" on a ").append(scene.background().word()).append(" background");
        return b.toString();
    }
}
