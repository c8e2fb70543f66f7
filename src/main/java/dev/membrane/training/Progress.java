package dev.membrane.training;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of a long job (spm train, train-shapes, train-classifier, evaluate) on stderr: on a terminal one line
 * redrawn a few times a second; in a log one line every 5% (or 30 s), so logs stay readable. A line reads
 * {@code <label> [#####...] 120/1000 12% | <detail> | 2.41 it/s | ETA 6m05s}. {@link #silent()} for tests and
 * callers that want none.
 */
public final class Progress {
    private static final int WIDTH = 24;
    private final PrintStream out;
    private final String label;
    private final String rateUnit;
    private final boolean terminal;
    private int first;
    private int total = 1;
    private long startNanos = System.nanoTime();
    private long lastDraw;
    private int lastLogged;

    private Progress(PrintStream out, String label, String rateUnit, boolean terminal) {
        this.out = out;
        this.label = label;
        this.rateUnit = rateUnit;
        this.terminal = terminal;
    }

    /** On stderr, redrawn in place when the process has a console; the rate in units per second ({@code /s}). */
    public static Progress stderr(String label) {
        return new Progress(System.err, label, "/s", System.console() != null);
    }

    /** On stderr, the rate in iterations per second ({@code  it/s}). */
    public static Progress iterations(String label) {
        return new Progress(System.err, label, " it/s", System.console() != null);
    }

    /** To {@code out} as a log (never redrawn), the rate in iterations per second. */
    public static Progress log(PrintStream out, String label) {
        return new Progress(out, label, " it/s", false);
    }

    public static Progress silent() {
        return new Progress(null, "", "/s", false);
    }

    /** Starts a phase of {@code total} units. */
    public void start(int total) {
        start(0, total);
    }

    /** Starts a phase of {@code total} units of which {@code first} were done before (a resumed run): the rate counts from there. */
    public void start(int first, int total) {
        this.first = first;
        this.total = Math.max(1, total);
        startNanos = System.nanoTime();
        lastDraw = 0;
        lastLogged = first;
    }

    /** After {@code done} of the phase's units; {@code detail} is shown after the counts (may be empty). */
    public void update(int done, String detail) {
        if (out == null) return;
        long now = System.nanoTime();
        boolean last = done >= total;
        if (terminal) {
            if (!last && now - lastDraw < 250_000_000L) return;
        } else {
            boolean step = done - lastLogged >= Math.max(1, total / 20);
            if (!last && !step && now - lastDraw < 30_000_000_000L) return;
            lastLogged = done;
        }
        lastDraw = now;
        double rate = (done - first) / Math.max(seconds(), 1e-9);
        double eta = rate > 0 ? (total - done) / rate : Double.NaN;
        int filled = (int) Math.round(WIDTH * Math.min(done, total) / (double) total);
        String line = String.format(Locale.ROOT, "%s [%s%s] %d/%d %3.0f%%%s | %.2f%s | ETA %s", label,
                "#".repeat(filled), ".".repeat(WIDTH - filled), done, total, 100.0 * done / total,
                detail.isEmpty() ? "" : " | " + detail, rate, rateUnit, duration(eta));
        if (terminal) out.print("\r" + line + (last ? "\n" : ""));
        else out.println(line);
        out.flush();
    }

    public void message(String text) {
        if (out == null) return;
        if (terminal) out.print("\r");
        out.println(label + ": " + text);
        out.flush();
    }

    /** Seconds since the phase started. */
    public double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static String duration(double seconds) {
        if (Double.isNaN(seconds) || Double.isInfinite(seconds)) return "--";
        long s = Math.round(seconds);
        if (s >= 3600) return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
        if (s >= 60) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return s + "s";
    }
}
