package dev.membrane.training.shapes;

import java.io.PrintStream;
import java.util.Locale;

/** One training stage's progress on stderr: a line every 5% or 30 s, with the smoothed loss, it/s and ETA. */
final class StageProgress {
    private final PrintStream out;
    private final String stage;
    private final int total;
    private final long start = System.nanoTime();
    private long lastLine = System.nanoTime();
    private int lastStep;
    private double smoothed = Double.NaN;

    StageProgress(PrintStream out, String stage, int total) {
        this.out = out;
        this.stage = stage;
        this.total = total;
    }

    void update(int done, double loss) {
        smoothed = Double.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
        long now = System.nanoTime();
        if (done != total && done - lastStep < Math.max(1, total / 20) && now - lastLine < 30_000_000_000L) return;
        lastStep = done;
        lastLine = now;
        double seconds = (now - start) / 1e9;
        double rate = done / Math.max(seconds, 1e-9);
        out.printf(Locale.ROOT, "train-shapes %s %d/%d %3.0f%% | loss %.5f | %.2f it/s | ETA %s%n", stage, done, total,
                100.0 * done / total, smoothed, rate, eta((total - done) / rate));
        out.flush();
    }

    double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    private static String eta(double seconds) {
        if (!Double.isFinite(seconds)) return "--";
        long s = Math.round(seconds);
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
