package dev.membrane.evaluation;

/**
 * Eigen decomposition of a real symmetric matrix by the cyclic Jacobi method: plane rotations zero the
 * off-diagonal entries one by one until they are negligible. O(n³) per sweep and typically under ten sweeps,
 * which is nothing for the classifier's 64 features; chosen over a library for being short, exact to rounding
 * and dependency-free.
 *
 * @param values  eigenvalues, ascending
 * @param vectors eigenvectors as columns: {@code vectors[i][k]} is component i of the vector of {@code values[k]}
 */
public record SymmetricEigen(double[] values, double[][] vectors) {
    private static final int MAX_SWEEPS = 100;

    public static SymmetricEigen of(double[][] matrix) {
        int n = matrix.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            if (matrix[i].length != n) throw new IllegalArgumentException("matrix is not square");
            a[i] = matrix[i].clone();
        }
        double[][] v = identity(n);
        double scale = 0;
        for (double[] row : a) for (double x : row) scale = Math.max(scale, Math.abs(x));
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
            if (off <= 1e-30 * Math.max(scale * scale, Double.MIN_NORMAL)) break;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] != 0) rotate(a, v, p, q);
                }
            }
        }
        // ascending order
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(a[x][x], a[y][y]));
        double[] values = new double[n];
        double[][] vectors = new double[n][n];
        for (int k = 0; k < n; k++) {
            values[k] = a[order[k]][order[k]];
            for (int i = 0; i < n; i++) vectors[i][k] = v[i][order[k]];
        }
        return new SymmetricEigen(values, vectors);
    }

    /** The rotation in the (p, q) plane that zeroes a[p][q] (Golub & Van Loan's symmetric Schur decomposition). */
    private static void rotate(double[][] a, double[][] v, int p, int q) {
        double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        if (theta == 0) t = 1;
        double c = 1 / Math.sqrt(t * t + 1);
        double s = t * c;
        int n = a.length;
        for (int k = 0; k < n; k++) {
            double akp = a[k][p];
            double akq = a[k][q];
            a[k][p] = c * akp - s * akq;
            a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < n; k++) {
            double apk = a[p][k];
            double aqk = a[q][k];
            a[p][k] = c * apk - s * aqk;
            a[q][k] = s * apk + c * aqk;
        }
        a[p][q] = 0;
        a[q][p] = 0;
        for (int k = 0; k < n; k++) {
            double vkp = v[k][p];
            double vkq = v[k][q];
            v[k][p] = c * vkp - s * vkq;
            v[k][q] = s * vkp + c * vkq;
        }
    }

    private static double[][] identity(int n) {
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) m[i][i] = 1;
        return m;
    }

    /**
     * The principal square root V·diag(√λ)·Vᵀ of a symmetric positive semi-definite matrix; eigenvalues that
     * rounding made slightly negative count as 0.
     */
    public static double[][] sqrtPsd(double[][] matrix) {
        SymmetricEigen e = of(matrix);
        int n = matrix.length;
        double[][] out = new double[n][n];
        for (int k = 0; k < n; k++) {
            double r = Math.sqrt(Math.max(0, e.values[k]));
            if (r == 0) continue;
            for (int i = 0; i < n; i++) {
                double vi = e.vectors[i][k] * r;
                for (int j = 0; j < n; j++) out[i][j] += vi * e.vectors[j][k];
            }
        }
        return out;
    }
}
