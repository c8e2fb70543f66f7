package dev.membrane.evaluation;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Locale;

/**
 * A grouped bar chart of rates in [0, 1] drawn with Java2D: one group per label, one bar per series (e.g.
 * "without adapters" / "with adapters"), a legend, gridlines every 0.25 and each bar's value (in %) above it.
 */
public final class BarChart {
    static final int BAR = 22;
    static final int GROUP_GAP = 18;
    static final int PLOT_HEIGHT = 220;
    static final int LEFT = 44;
    static final int TOP = 40;
    static final int BOTTOM = 90;
    private static final Color[] PALETTE = {new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868), new Color(0xC44E52)};
    private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    private static final Font VALUE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 9);

    private BarChart() {
    }

    /**
     * @param title  drawn at the top
     * @param series the series' names (the legend), at most four
     * @param groups the groups' labels
     * @param values [group][series]; NaN draws no bar
     */
    public static BufferedImage render(String title, List<String> series, List<String> groups, double[][] values) {
        if (series.size() > PALETTE.length) throw new IllegalArgumentException("at most " + PALETTE.length + " series");
        int groupWidth = series.size() * BAR + GROUP_GAP;
        int width = Math.max(360, LEFT + groups.size() * groupWidth + 80); // room for the last rotated label
        int height = TOP + PLOT_HEIGHT + BOTTOM;
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            g.setFont(FONT);
            FontMetrics fm = g.getFontMetrics();
            g.setColor(Color.BLACK);
            g.drawString(title, LEFT, 16);
            int legendX = LEFT;
            for (int s = 0; s < series.size(); s++) {
                g.setColor(PALETTE[s]);
                g.fillRect(legendX, 24, 10, 10);
                g.setColor(Color.BLACK);
                g.drawString(series.get(s), legendX + 14, 33);
                legendX += 24 + fm.stringWidth(series.get(s));
            }
            int base = TOP + PLOT_HEIGHT;
            for (int k = 0; k <= 4; k++) {
                int y = base - k * PLOT_HEIGHT / 4;
                g.setColor(k == 0 ? Color.BLACK : new Color(0xDDDDDD));
                g.drawLine(LEFT, y, width - 10, y);
                g.setColor(Color.DARK_GRAY);
                String label = String.format(Locale.ROOT, "%.2f", k / 4.0);
                g.drawString(label, LEFT - 6 - fm.stringWidth(label), y + 4);
            }
            for (int gi = 0; gi < groups.size(); gi++) {
                int x0 = LEFT + GROUP_GAP / 2 + gi * groupWidth;
                for (int s = 0; s < series.size(); s++) {
                    double v = values[gi][s];
                    if (Double.isNaN(v)) continue;
                    int h = (int) Math.round(Math.max(0, Math.min(1, v)) * PLOT_HEIGHT);
                    int x = x0 + s * BAR;
                    g.setColor(PALETTE[s]);
                    g.fillRect(x, base - h, BAR - 2, h);
                    g.setColor(Color.BLACK);
                    g.setFont(VALUE_FONT);
                    String label = String.format(Locale.ROOT, "%.0f", v * 100);
                    g.drawString(label, x + (BAR - 2 - g.getFontMetrics().stringWidth(label)) / 2, base - h - 2);
                    g.setFont(FONT);
                }
                // group label, rotated so long concept names fit
                Graphics2D r = (Graphics2D) g.create();
                try {
                    r.setColor(Color.BLACK);
                    r.translate(x0 + series.size() * BAR / 2.0, base + 6);
                    r.rotate(Math.PI / 4);
                    r.drawString(groups.get(gi), 0, 0);
                } finally {
                    r.dispose();
                }
            }
        } finally {
            g.dispose();
        }
        return out;
    }
}
