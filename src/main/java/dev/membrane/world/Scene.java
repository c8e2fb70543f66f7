package dev.membrane.world;

/**
 * One image of the world: a shape of {@code extent} (fraction of the side its bounding box spans, 0.4–0.7) centred
 * at ({@code centreX}, {@code centreY}) in fractions of the side.
 */
public record Scene(ShapeKind shape, Colour colour, Background background, Style style,
                    double extent, double centreX, double centreY) {
}
