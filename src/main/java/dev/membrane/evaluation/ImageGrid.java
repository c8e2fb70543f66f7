package dev.membrane.evaluation;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * A labelled grid of images: one row per prompt, one column per image kind (base or moderated, per seed), a header
 * row naming the columns and a left column naming the rows. Cells keep the images' own pixels (no scaling below
 * {@link #MIN_CELL}; smaller images are enlarged by an integer factor with nearest-neighbour sampling).
 */
public final class ImageGrid {
    static final int MIN_CELL = 64;
    static final int GAP = 2;
    static final int LABEL_WIDTH = 200;
    static final int HEADER_HEIGHT = 18;
    private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);

    private ImageGrid() {
    }

    /** The side of a cell for images of {@code side} pixels. */
    static int cellSide(int side) {
        return side >= MIN_CELL ? side : side * ((MIN_CELL + side - 1) / side);
    }

    /** Width and height of a grid of {@code rows} x {@code columns} cells of {@code side}-pixel images. */
    public static int[] dimensions(int rows, int columns, int side) {
        int cell = cellSide(side);
        return new int[] {LABEL_WIDTH + columns * (cell + GAP) + GAP, HEADER_HEIGHT + rows * (cell + GAP) + GAP};
    }

    /**
     * @param rowLabels    one per row
     * @param columnLabels one per column
     * @param cells        [row][column], all square and of one size; a null cell stays empty
     */
    public static BufferedImage render(List<String> rowLabels, List<String> columnLabels, BufferedImage[][] cells) {
        int side = 0;
        for (BufferedImage[] row : cells) for (BufferedImage c : row) if (c != null) side = c.getWidth();
        if (side == 0) side = MIN_CELL;
        int cell = cellSide(side);
        int[] dims = dimensions(rowLabels.size(), columnLabels.size(), side);
        BufferedImage out = new BufferedImage(dims[0], dims[1], BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, dims[0], dims[1]);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
            g.setFont(FONT);
            g.setColor(Color.BLACK);
            FontMetrics fm = g.getFontMetrics();
            for (int c = 0; c < columnLabels.size(); c++) {
                int x = LABEL_WIDTH + GAP + c * (cell + GAP);
                g.drawString(fit(columnLabels.get(c), cell, fm), x, HEADER_HEIGHT - 5);
            }
            for (int r = 0; r < rowLabels.size(); r++) {
                int y = HEADER_HEIGHT + GAP + r * (cell + GAP);
                g.drawString(fit(rowLabels.get(r), LABEL_WIDTH - 6, fm), 4, y + cell / 2 + fm.getAscent() / 2);
                for (int c = 0; c < columnLabels.size(); c++) {
                    BufferedImage img = r < cells.length && c < cells[r].length ? cells[r][c] : null;
                    if (img != null) g.drawImage(img, LABEL_WIDTH + GAP + c * (cell + GAP), y, cell, cell, null);
                }
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /** {@code text} cut with an ellipsis to fit {@code width} pixels. */
    static String fit(String text, int width, FontMetrics fm) {
        if (fm.stringWidth(text) <= width) return text;
        String t = text;
        while (!t.isEmpty() && fm.stringWidth(t + "…") > width) t = t.substring(0, t.length() - 1);
        return t + "…";
    }
}
