package dev.membrane.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** The Fréchet distance and its eigen decomposition against hand-computed cases. */
class FrechetDistanceTest {
    private static FrechetDistance.Gaussian gaussian(double[] mean, double[][] cov) {
        return new FrechetDistance.Gaussian(mean, cov);
    }

    @Test
    void diagonalCovariancesGiveTheClosedForm() {
        // Σ₁ = diag(4, 1), Σ₂ = diag(1, 9): (Σ₁Σ₂)^½ = diag(2, 3); d² = |(1,2) − (4,−2)|² + (5 + 10) − 2·5 = 25 + 5 = 30
        double d = FrechetDistance.between(gaussian(new double[] {1, 2}, new double[][] {{4, 0}, {0, 1}}),
                gaussian(new double[] {4, -2}, new double[][] {{1, 0}, {0, 9}}));
        assertEquals(30, d, 1e-12);
    }

    @Test
    void nonCommutingCovariancesMatchTheTwoByTwoTraceFormula() {
        // For 2x2 M = Σ₁Σ₂ with positive eigenvalues, tr √M = √(tr M + 2√det M) (the two roots' sum, squared).
        // Σ₁ = [[2, 1], [1, 2]], Σ₂ = diag(1, 4): M = [[2, 4], [1, 8]], tr 10, det 12 → tr √M = √(10 + 2√12).
        double traceRoot = Math.sqrt(10 + 2 * Math.sqrt(12));
        double expected = 0.25 + (4 + 5) - 2 * traceRoot; // means differ by (0.5, 0)
        double d = FrechetDistance.between(gaussian(new double[] {0.5, 0}, new double[][] {{2, 1}, {1, 2}}),
                gaussian(new double[] {0, 0}, new double[][] {{1, 0}, {0, 4}}));
        assertEquals(expected, d, 1e-12);
        assertEquals(1.0212204, d, 1e-7); // 9.25 − 2·4.1143898: the number a hand calculation gives
    }

    @Test
    void identicalGaussiansAreAtZero() {
        double[][] cov = {{3, 1, 0.5}, {1, 2, 0.2}, {0.5, 0.2, 1}};
        assertEquals(0, FrechetDistance.between(gaussian(new double[] {1, 2, 3}, cov), gaussian(new double[] {1, 2, 3}, cov)), 1e-12);
    }

    @Test
    void samplesConvergeToTheAnalyticDistance() {
        // samples of N((0,0), diag(4,1)) and N((3,0), diag(1,1)): d² = 9 + (5 + 2) − 2(2 + 1) = 10
        Random r = new Random(7);
        List<float[]> a = new ArrayList<>();
        List<float[]> b = new ArrayList<>();
        for (int i = 0; i < 200_000; i++) {
            a.add(new float[] {(float) (2 * r.nextGaussian()), (float) r.nextGaussian()});
            b.add(new float[] {(float) (3 + r.nextGaussian()), (float) r.nextGaussian()});
        }
        assertEquals(10, FrechetDistance.between(a, b), 0.1);
    }

    @Test
    void covarianceIsUnbiased() {
        // x = 1, 2, 3, 4: mean 2.5, Σ(x − 2.5)² = 5, unbiased variance 5/3
        List<float[]> s = List.of(new float[] {1}, new float[] {2}, new float[] {3}, new float[] {4});
        FrechetDistance.Gaussian g = FrechetDistance.Gaussian.fit(s);
        assertEquals(2.5, g.mean()[0], 1e-12);
        assertEquals(5 / 3.0, g.covariance()[0][0], 1e-12);
    }

    @Test
    void jacobiFindsTheEigenpairsOfAKnownMatrix() {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3 with vectors (1, −1)/√2 and (1, 1)/√2
        SymmetricEigen e = SymmetricEigen.of(new double[][] {{2, 1}, {1, 2}});
        assertEquals(1, e.values()[0], 1e-12);
        assertEquals(3, e.values()[1], 1e-12);
        assertEquals(0, e.vectors()[0][0] + e.vectors()[1][0], 1e-12);
        assertEquals(0, e.vectors()[0][1] - e.vectors()[1][1], 1e-12);
        assertEquals(1 / Math.sqrt(2), Math.abs(e.vectors()[0][1]), 1e-12);
    }

    @Test
    void jacobiReconstructsARandomSymmetricMatrix() {
        Random r = new Random(3);
        int n = 24;
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = i; j < n; j++) a[i][j] = a[j][i] = r.nextGaussian();
        SymmetricEigen e = SymmetricEigen.of(a);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double v = 0;
                for (int k = 0; k < n; k++) v += e.vectors()[i][k] * e.values()[k] * e.vectors()[j][k];
                assertEquals(a[i][j], v, 1e-10);
            }
        }
    }

    @Test
    void squareRootSquaresBack() {
        double[][] a = {{5, 2, 0}, {2, 3, 1}, {0, 1, 2}};
        double[][] root = SymmetricEigen.sqrtPsd(a);
        double[][] sq = FrechetDistance.multiply(root, root);
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) assertEquals(a[i][j], sq[i][j], 1e-12);
    }
}
