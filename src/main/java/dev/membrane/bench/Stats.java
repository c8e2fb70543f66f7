package dev.membrane.bench;

import java.util.List;

/** Order statistics of repeated measurements (milliseconds or any unit). */
public record Stats(double median, double min, double max, double p99, int n) {
    public static Stats of(List<Double> values) {
        double[] s = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = s.length;
        if (n == 0) return new Stats(Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);
        double median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        double p99 = s[Math.min(n - 1, (int) Math.ceil(0.99 * n) - 1)];
        return new Stats(median, s[0], s[n - 1], p99, n);
    }

    /** The value at quantile q (nearest rank). */
    public static double quantile(List<Double> values, double q) {
        double[] s = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length == 0 ? Double.NaN : s[Math.max(0, Math.min(s.length - 1, (int) Math.ceil(q * s.length) - 1))];
    }
}
