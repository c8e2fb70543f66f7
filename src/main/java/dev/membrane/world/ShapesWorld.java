package dev.membrane.world;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.Area;
import java.awt.geom.Ellipse2D;
import java.awt.geom.GeneralPath;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The procedural world of the shapes model: one upright shape per image, solid or striped, on a plain background,
 * rendered with Java2D and antialiasing, with its caption. Sampling is a pure function of the random stream, so a
 * seed gives the same images on every JVM.
 */
public final class ShapesWorld {
    /** The shape's bounding box spans this fraction of the side, uniformly. */
    public static final double MIN_EXTENT = 0.40;
    public static final double MAX_EXTENT = 0.70;
    /** Stripe period as a fraction of the side (half colour, half white), at 45°. */
    static final double STRIPE_PERIOD = 0.16;

    private final Palette palette;

    public ShapesWorld(Palette palette) {
        this.palette = palette;
    }

    public Palette palette() {
        return palette;
    }

    /** One captioned scene: a template drawn with the training mix, then the attributes it leaves open. */
    public record Sample(Scene scene, String caption, CaptionTemplate template) {
    }

    public Sample sample(SplittableRandom random) {
        CaptionTemplate template = template(random);
        Scene scene = scene(random, template.statesStyle() ? Style.STRIPED : Style.SOLID);
        return new Sample(scene, template.caption(scene), template);
    }

    /** A scene with every attribute drawn uniformly (for classifier training), jitter included. */
    public Scene randomScene(SplittableRandom random) {
        return scene(random, random.nextInt(4) == 0 ? Style.STRIPED : Style.SOLID);
    }

    private static CaptionTemplate template(SplittableRandom random) {
        double u = random.nextDouble();
        if (u < 0.30) return CaptionTemplate.COLOUR_SHAPE;
        if (u < 0.60) return CaptionTemplate.COLOUR_SHAPE_BACKGROUND;
        if (u < 0.70) return CaptionTemplate.SHAPE;
        if (u < 0.85) return CaptionTemplate.STYLE_COLOUR_SHAPE;
        return CaptionTemplate.STYLE_COLOUR_SHAPE_BACKGROUND;
    }

    private static Scene scene(SplittableRandom random, Style style) {
        ShapeKind shape = pick(random, ShapeKind.values());
        Colour colour = pick(random, Colour.values());
        Background background = pick(random, Background.values());
        double extent = MIN_EXTENT + random.nextDouble() * (MAX_EXTENT - MIN_EXTENT);
        double margin = extent / 2 + 0.02;
        double cx = margin + random.nextDouble() * (1 - 2 * margin);
        double cy = margin + random.nextDouble() * (1 - 2 * margin);
        return new Scene(shape, colour, background, style, extent, cx, cy);
    }

    private static <T> T pick(SplittableRandom random, T[] values) {
        return values[random.nextInt(values.length)];
    }

    /** Renders {@code scene} at {@code side}x{@code side} pixels. */
    public BufferedImage render(Scene scene, int side) {
        BufferedImage image = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(new Color(scene.background().rgb()));
            g.fillRect(0, 0, side, side);
            Shape outline = outline(scene, side);
            Color fill = new Color(palette.rgb(scene.colour()));
            g.setColor(fill);
            g.fill(outline);
            if (scene.style() == Style.STRIPED) {
                g.setClip(outline);
                g.setColor(Color.WHITE);
                double period = STRIPE_PERIOD * side;
                g.setStroke(new BasicStroke((float) (period / 2), BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER));
                // lines at 45° spaced period·√2 apart horizontally are period apart perpendicular to the stripes
                for (double k = -side; k < 2 * side; k += period * Math.sqrt(2)) {
                    g.draw(new java.awt.geom.Line2D.Double(k, 0, k + side, side));
                }
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /** The shape's outline in pixels: a bounding box of extent × side centred on the scene's centre. */
    static Shape outline(Scene scene, int side) {
        double s = scene.extent() * side;
        double x = scene.centreX() * side - s / 2;
        double y = scene.centreY() * side - s / 2;
        return switch (scene.shape()) {
            case CIRCLE -> new Ellipse2D.Double(x, y, s, s);
            case SQUARE -> new Rectangle2D.Double(x, y, s, s);
            case TRIANGLE -> polygon(new double[] {x + s / 2, x + s, x}, new double[] {y, y + s, y + s});
            case STAR -> star(x + s / 2, y + s / 2, s);
            case HEART -> heart(x, y, s);
            case CROSS -> cross(x, y, s);
        };
    }

    private static Shape polygon(double[] xs, double[] ys) {
        Path2D.Double p = new Path2D.Double();
        p.moveTo(xs[0], ys[0]);
        for (int i = 1; i < xs.length; i++) p.lineTo(xs[i], ys[i]);
        p.closePath();
        return p;
    }

    /** Five points, one straight up; the outer radius fills the box's width, inner radius 0.38 of it. */
    private static Shape star(double cx, double cy, double s) {
        double outer = s / 2;
        double inner = outer * 0.38;
        double[] xs = new double[10];
        double[] ys = new double[10];
        // a regular star spans 0.905 of its outer diameter vertically; centre it in the box
        double shift = outer * (1 - Math.cos(Math.PI / 5)) / 2;
        for (int i = 0; i < 10; i++) {
            double r = i % 2 == 0 ? outer : inner;
            double a = -Math.PI / 2 + i * Math.PI / 5;
            xs[i] = cx + r * Math.cos(a);
            ys[i] = cy + shift + r * Math.sin(a);
        }
        return polygon(xs, ys);
    }

    /** Two lobes and a point at the bottom, filling the box. */
    private static Shape heart(double x, double y, double s) {
        GeneralPath p = new GeneralPath();
        p.moveTo(x + s / 2, y + s);
        p.curveTo(x - s * 0.05, y + s * 0.55, x + s * 0.02, y - s * 0.02, x + s * 0.27, y + s * 0.02);
        p.curveTo(x + s * 0.42, y + s * 0.05, x + s / 2, y + s * 0.2, x + s / 2, y + s * 0.25);
        p.curveTo(x + s / 2, y + s * 0.2, x + s * 0.58, y + s * 0.05, x + s * 0.73, y + s * 0.02);
        p.curveTo(x + s * 0.98, y - s * 0.02, x + s * 1.05, y + s * 0.55, x + s / 2, y + s);
        p.closePath();
        return p;
    }

    /** A plus sign whose arms are a third of its width. */
    private static Shape cross(double x, double y, double s) {
        Area a = new Area(new Rectangle2D.Double(x, y + s / 3, s, s / 3));
        a.add(new Area(new Rectangle2D.Double(x + s / 3, y, s / 3, s)));
        return a;
    }

    /** Every caption the templates can produce, in a fixed order (the tokenizer's corpus). */
    public static List<String> allCaptions() {
        Set<String> out = new LinkedHashSet<>();
        for (CaptionTemplate t : CaptionTemplate.values()) {
            for (ShapeKind s : ShapeKind.values()) {
                for (Colour c : Colour.values()) {
                    for (Background b : Background.values()) {
                        out.add(t.caption(new Scene(s, c, b, t.statesStyle() ? Style.STRIPED : Style.SOLID, 0.5, 0.5, 0.5)));
                    }
                }
            }
        }
        return new ArrayList<>(out);
    }

    /**
     * The image as planar RGB in [-1, 1] (SD's VAE input convention), written at {@code offset} of {@code out}
     * ({@code 3·side²} values).
     */
    public static void toPlanar(BufferedImage image, float[] out, int offset) {
        int w = image.getWidth();
        int h = image.getHeight();
        int plane = w * h;
        for (int yy = 0; yy < h; yy++) {
            for (int xx = 0; xx < w; xx++) {
                int rgb = image.getRGB(xx, yy);
                int i = offset + yy * w + xx;
                out[i] = ((rgb >> 16) & 0xFF) / 127.5f - 1f;
                out[i + plane] = ((rgb >> 8) & 0xFF) / 127.5f - 1f;
                out[i + 2 * plane] = (rgb & 0xFF) / 127.5f - 1f;
            }
        }
    }
}
