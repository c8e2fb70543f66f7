package dev.membrane.training;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Training progress on stderr: iteration, both losses, it/s and ETA. On a terminal one line redrawn a few times a
 * second; in a log (CI, a Kubernetes Job) one line every 5% or 30 s, so logs stay readable.
 */
final class ProgressBar {
    private static final int WIDTH = 24;
    private final PrintStream out;
    private final int total;
    private final int first;
    private final boolean terminal;
    private final long startNanos = System.nanoTime();
    private long lastDraw;
    private int lastLogged;

    ProgressBar(PrintStream out, int first, int total, boolean terminal) {
        this.out = out;
        this.first = first;
        this.total = total;
        this.terminal = terminal;
        this.lastLogged = first;
    }

    /** After iteration {@code done} (1-based count of completed iterations). */
    void update(int done, double lossErase, double lossAnchor) {
        long now = System.nanoTime();
        boolean last = done == total;
        if (terminal) {
            if (!last && now - lastDraw < 250_000_000L) return;
        } else {
            boolean step = done - lastLogged >= Math.max(1, total / 20);
            if (!last && !step && now - lastDraw < 30_000_000_000L) return;
            lastLogged = done;
        }
        lastDraw = now;
        double seconds = (now - startNanos) / 1e9;
        double rate = (done - first) / Math.max(seconds, 1e-9);
        double eta = rate > 0 ? (total - done) / rate : Double.NaN;
        int filled = (int) Math.round(WIDTH * done / (double) total);
        String line = String.format(Locale.ROOT, "spm train [%s%s] %d/%d %3.0f%% | erase %.4e anchor %.4e | %.2f it/s | ETA %s",
                "#".repeat(filled), ".".repeat(WIDTH - filled), done, total, 100.0 * done / total, lossErase, lossAnchor,
                rate, duration(eta));
        if (terminal) out.print("\r" + line + (last ? "\n" : ""));
        else out.println(line);
        out.flush();
    }

    void message(String text) {
        if (terminal) out.print("\r");
        out.println(text);
        out.flush();
    }

    static String duration(double seconds) {
        if (Double.isNaN(seconds) || Double.isInfinite(seconds)) return "--";
        long s = Math.round(seconds);
        if (s >= 3600) return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
        if (s >= 60) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return s + "s";
    }
}
