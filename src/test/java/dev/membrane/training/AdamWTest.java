package dev.membrane.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** PyTorch's AdamW update, computed by hand for two steps. */
class AdamWTest {
    @Test
    void matchesTheTorchUpdateRule() {
        float[] p = {1.0f, -2.0f};
        AdamW adam = new AdamW();
        double lr = 0.1;
        double[] m = new double[2];
        double[] v = new double[2];
        double[] expected = {1.0, -2.0};
        float[][] grads = {{0.5f, -0.25f}, {-1.0f, 0.75f}};
        for (int step = 1; step <= 2; step++) {
            adam.update(Map.of("w", p), Map.of("w", grads[step - 1]), lr);
            for (int i = 0; i < 2; i++) {
                double g = grads[step - 1][i];
                expected[i] *= 1 - lr * 0.01;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                double mHat = m[i] / (1 - Math.pow(0.9, step));
                double vHat = v[i] / (1 - Math.pow(0.999, step));
                expected[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
                assertEquals(expected[i], p[i], 1e-6, "step " + step + " element " + i);
            }
        }
        assertEquals(2, adam.step());
    }
}
