package dev.membrane.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

class ShapesWorldTest {
    private final ShapesWorld world = new ShapesWorld(Palette.CLASSIC);

    private static Scene centred(ShapeKind shape, Style style) {
        return new Scene(shape, Colour.RED, Background.WHITE, style, 0.6, 0.5, 0.5);
    }

    @Test
    void sameSeedSameCaptionsAndPixels() {
        SplittableRandom a = new SplittableRandom(3);
        SplittableRandom b = new SplittableRandom(3);
        for (int i = 0; i < 50; i++) {
            ShapesWorld.Sample x = world.sample(a);
            ShapesWorld.Sample y = world.sample(b);
            assertEquals(x, y);
            int[] px = world.render(x.scene(), 64).getRGB(0, 0, 64, 64, null, 0, 64);
            int[] py = world.render(y.scene(), 64).getRGB(0, 0, 64, 64, null, 0, 64);
            assertTrue(Arrays.equals(px, py));
        }
    }

    @Test
    void captionsFollowTheTemplatesAndStateWhatIsDrawn() {
        Pattern grammar = Pattern.compile("a (striped )?((red|green|blue|yellow|purple|orange) )?(circle|square|triangle|star|heart|cross)"
                + "( on a (white|black|gray) background)?");
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 500; i++) {
            ShapesWorld.Sample s = world.sample(r);
            assertTrue(grammar.matcher(s.caption()).matches(), s.caption());
            assertTrue(s.caption().contains(s.scene().shape().word()));
            assertEquals(s.scene().style() == Style.STRIPED, s.caption().contains("striped"), s.caption());
            if (s.template() != CaptionTemplate.SHAPE) assertTrue(s.caption().contains(s.scene().colour().word()));
            if (s.caption().contains("background")) assertTrue(s.caption().contains(s.scene().background().word()));
            assertTrue(s.scene().extent() >= ShapesWorld.MIN_EXTENT && s.scene().extent() <= ShapesWorld.MAX_EXTENT);
        }
        assertEquals(36 + 108 + 6 + 36 + 108, ShapesWorld.allCaptions().size());
    }

    @Test
    void solidShapeIsItsColourInsideAndBackgroundOutside() {
        BufferedImage img = world.render(centred(ShapeKind.CIRCLE, Style.SOLID), 64);
        assertEquals(Palette.CLASSIC.rgb(Colour.RED), img.getRGB(32, 32) & 0xFFFFFF);
        assertEquals(0xFFFFFF, img.getRGB(1, 1) & 0xFFFFFF);
        // a circle leaves its bounding box's corners empty, a square fills them
        int corner = (int) (64 * 0.2) + 2;
        assertEquals(0xFFFFFF, img.getRGB(corner, corner) & 0xFFFFFF);
        BufferedImage square = world.render(centred(ShapeKind.SQUARE, Style.SOLID), 64);
        assertEquals(Palette.CLASSIC.rgb(Colour.RED), square.getRGB(corner, corner) & 0xFFFFFF);
    }

    @Test
    void triangleAndStarPointUpAndCrossArmsAreAThird() {
        int red = Palette.CLASSIC.rgb(Colour.RED);
        BufferedImage tri = world.render(centred(ShapeKind.TRIANGLE, Style.SOLID), 64);
        // near the top of the box only the middle is filled; near the bottom the full width is
        assertEquals(red, tri.getRGB(32, 16) & 0xFFFFFF);
        assertEquals(0xFFFFFF, tri.getRGB(16, 16) & 0xFFFFFF);
        assertEquals(red, tri.getRGB(16, 46) & 0xFFFFFF);
        BufferedImage star = world.render(centred(ShapeKind.STAR, Style.SOLID), 64);
        assertEquals(red, star.getRGB(32, 19) & 0xFFFFFF, "the top point");
        assertEquals(0xFFFFFF, star.getRGB(26, 19) & 0xFFFFFF, "beside the top point");
        BufferedImage cross = world.render(centred(ShapeKind.CROSS, Style.SOLID), 64);
        // box 38.4 px from 12.8: arms span the middle third, 25.6..38.4
        assertEquals(red, cross.getRGB(32, 14) & 0xFFFFFF);
        assertEquals(0xFFFFFF, cross.getRGB(20, 20) & 0xFFFFFF);
        assertEquals(0xFFFFFF, cross.getRGB(44, 44) & 0xFFFFFF);
    }

    @Test
    void stripesAreTheColourAndWhiteInsideTheShapeOnly() {
        BufferedImage img = world.render(new Scene(ShapeKind.SQUARE, Colour.BLUE, Background.BLACK, Style.STRIPED, 0.6, 0.5, 0.5), 64);
        int blue = 0;
        int white = 0;
        for (int y = 16; y < 48; y++) {
            for (int x = 16; x < 48; x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                if (rgb == Palette.CLASSIC.rgb(Colour.BLUE)) blue++;
                if (rgb == 0xFFFFFF) white++;
            }
        }
        assertTrue(blue > 200 && white > 200, "blue " + blue + " white " + white);
        assertEquals(0, img.getRGB(2, 2) & 0xFFFFFF, "the background stays black");
    }

    @Test
    void palettesDifferAndPlanarIsMinusOneToOne() {
        assertNotEquals(Palette.CLASSIC.rgb(Colour.RED), Palette.DEEP.rgb(Colour.RED));
        BufferedImage img = world.render(centred(ShapeKind.HEART, Style.SOLID), 64);
        float[] planar = new float[3 * 64 * 64];
        ShapesWorld.toPlanar(img, planar, 0);
        assertEquals(1f, planar[0], 1e-6);
        int rgb = Palette.CLASSIC.rgb(Colour.RED);
        assertEquals(((rgb >> 16) & 0xFF) / 127.5f - 1, planar[32 * 64 + 32], 1e-6);
        List<Float> distinct = new ArrayList<>();
        for (float v : planar) if (!distinct.contains(v)) distinct.add(v);
        assertFalse(distinct.isEmpty());
        for (float v : planar) assertTrue(v >= -1 && v <= 1);
    }
}
