package dev.membrane.training.shapes;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

import dev.membrane.MembraneException;

/** The training curves as a PNG: one panel per stage, loss (log scale) against step. */
final class TrainingCurves {
    private static final int PANEL_W = 420;
    private static final int PANEL_H = 260;
    private static final int MARGIN = 50;

    private TrainingCurves() {
    }

    static void write(Path file, List<LossCurve> curves) {
        BufferedImage image = new BufferedImage(PANEL_W * Math.max(1, curves.size()), PANEL_H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            for (int i = 0; i < curves.size(); i++) panel(g, curves.get(i), i * PANEL_W);
        } finally {
            g.dispose();
        }
        try {
            ImageIO.write(image, "png", file.toFile());
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot write the training curves (" + e.getMessage() + ")");
        }
    }

    private static void panel(Graphics2D g, LossCurve curve, int x0) {
        List<double[]> pts = curve.points();
        int left = x0 + MARGIN;
        int right = x0 + PANEL_W - 15;
        int top = 25;
        int bottom = PANEL_H - 35;
        g.setColor(Color.BLACK);
        g.drawString(curve.stage() + " loss (MSE, log scale)", left, 15);
        g.drawLine(left, bottom, right, bottom);
        g.drawLine(left, top, left, bottom);
        if (pts.isEmpty()) return;
        double maxStep = pts.get(pts.size() - 1)[0];
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (double[] p : pts) {
            double v = Math.log10(Math.max(p[1], 1e-12));
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        if (hi - lo < 1e-6) hi = lo + 1;
        g.drawString(String.format(Locale.ROOT, "%.2g", Math.pow(10, hi)), x0 + 2, top + 5);
        g.drawString(String.format(Locale.ROOT, "%.2g", Math.pow(10, lo)), x0 + 2, bottom);
        g.drawString("0", left, bottom + 14);
        g.drawString(String.format(Locale.ROOT, "%.0f steps", maxStep), right - 60, bottom + 14);
        g.setColor(new Color(0x1E3CDC));
        g.setStroke(new BasicStroke(1.5f));
        int px = -1;
        int py = -1;
        for (double[] p : pts) {
            int x = left + (int) Math.round((right - left) * p[0] / maxStep);
            double v = Math.log10(Math.max(p[1], 1e-12));
            int y = bottom - (int) Math.round((bottom - top) * (v - lo) / (hi - lo));
            if (px >= 0) g.drawLine(px, py, x, y);
            px = x;
            py = y;
        }
    }
}
