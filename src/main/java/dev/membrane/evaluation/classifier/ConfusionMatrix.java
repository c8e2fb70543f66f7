package dev.membrane.evaluation.classifier;

import java.util.List;

/**
 * Counts of (true class, predicted class); rows are the truth.
 *
 * @param labels class names, rows and columns in this order
 * @param counts [truth][predicted]
 */
public record ConfusionMatrix(List<String> labels, long[][] counts) {
    public static ConfusionMatrix empty(List<String> labels) {
        return new ConfusionMatrix(List.copyOf(labels), new long[labels.size()][labels.size()]);
    }

    public void add(int truth, int predicted) {
        counts[truth][predicted]++;
    }

    public long total() {
        long n = 0;
        for (long[] row : counts) for (long c : row) n += c;
        return n;
    }

    /** Fraction on the diagonal (NaN when empty). */
    public double accuracy() {
        long hit = 0;
        for (int i = 0; i < counts.length; i++) hit += counts[i][i];
        long n = total();
        return n == 0 ? Double.NaN : hit / (double) n;
    }

    /** Fraction of row {@code truth} predicted as {@code predicted} (NaN for an empty row). */
    public double rate(int truth, int predicted) {
        long n = 0;
        for (long c : counts[truth]) n += c;
        return n == 0 ? Double.NaN : counts[truth][predicted] / (double) n;
    }
}
