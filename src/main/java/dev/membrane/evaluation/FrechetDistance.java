package dev.membrane.evaluation;

import java.util.List;

/**
 * The Fréchet distance between two Gaussians fitted to feature vectors (FID's formula, here on the shapes
 * classifier's penultimate features): d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½). The trace of (Σ₁Σ₂)^½ is taken
 * as tr((Σ₁^½ Σ₂ Σ₁^½)^½): the two matrices are similar (Σ₁^½ conjugates one into the other), and the second is
 * symmetric positive semi-definite, so both square roots come from a symmetric eigen decomposition
 * ({@link SymmetricEigen}) instead of a general matrix square root.
 */
public final class FrechetDistance {
    private FrechetDistance() {
    }

    /** Mean and covariance (unbiased, n − 1, as numpy's {@code cov} and pytorch-fid). */
    public record Gaussian(double[] mean, double[][] covariance) {
        public static Gaussian fit(List<float[]> samples) {
            if (samples.size() < 2) throw new IllegalArgumentException("a covariance needs at least 2 samples, got " + samples.size());
            int d = samples.get(0).length;
            double[] mean = new double[d];
            for (float[] s : samples) for (int i = 0; i < d; i++) mean[i] += s[i];
            for (int i = 0; i < d; i++) mean[i] /= samples.size();
            double[][] cov = new double[d][d];
            for (float[] s : samples) {
                for (int i = 0; i < d; i++) {
                    double di = s[i] - mean[i];
                    if (di == 0) continue;
                    for (int j = i; j < d; j++) cov[i][j] += di * (s[j] - mean[j]);
                }
            }
            for (int i = 0; i < d; i++) {
                for (int j = i; j < d; j++) {
                    cov[i][j] /= samples.size() - 1;
                    cov[j][i] = cov[i][j];
                }
            }
            return new Gaussian(mean, cov);
        }
    }

    /** d² between the Gaussians of the two sample sets. */
    public static double between(List<float[]> a, List<float[]> b) {
        return between(Gaussian.fit(a), Gaussian.fit(b));
    }

    public static double between(Gaussian a, Gaussian b) {
        int d = a.mean().length;
        if (b.mean().length != d) throw new IllegalArgumentException("dimensions differ: " + d + " and " + b.mean().length);
        double meanTerm = 0;
        for (int i = 0; i < d; i++) {
            double diff = a.mean()[i] - b.mean()[i];
            meanTerm += diff * diff;
        }
        double[][] rootA = SymmetricEigen.sqrtPsd(a.covariance());
        double[][] inner = multiply(multiply(rootA, b.covariance()), rootA);
        symmetrise(inner);
        double traceRoot = 0;
        for (double lambda : SymmetricEigen.of(inner).values()) traceRoot += Math.sqrt(Math.max(0, lambda));
        double trace = 0;
        for (int i = 0; i < d; i++) trace += a.covariance()[i][i] + b.covariance()[i][i];
        // rounding can take identical sets a hair below zero
        return Math.max(0, meanTerm + trace - 2 * traceRoot);
    }

    static double[][] multiply(double[][] x, double[][] y) {
        int n = x.length;
        int m = y[0].length;
        int k = y.length;
        double[][] out = new double[n][m];
        for (int i = 0; i < n; i++) {
            for (int l = 0; l < k; l++) {
                double xil = x[i][l];
                if (xil == 0) continue;
                for (int j = 0; j < m; j++) out[i][j] += xil * y[l][j];
            }
        }
        return out;
    }

    /** Removes the rounding asymmetry of a product that is symmetric in exact arithmetic. */
    private static void symmetrise(double[][] m) {
        for (int i = 0; i < m.length; i++) {
            for (int j = i + 1; j < m.length; j++) {
                double avg = (m[i][j] + m[j][i]) / 2;
                m[i][j] = avg;
                m[j][i] = avg;
            }
        }
    }
}
