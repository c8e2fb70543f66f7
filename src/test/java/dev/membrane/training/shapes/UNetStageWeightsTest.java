package dev.membrane.training.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

import dev.membrane.training.TorchEngine;

/** The UNet stage's loss weighting and the exported average's warm-up, against hand-computed values. */
class UNetStageWeightsTest {

    @Test
    void minSnrWeightIsOneAtHighNoiseAndGammaOverSnrBeyondIt() {
        // SNR = ᾱ/(1−ᾱ): ᾱ = 0.5 → SNR 1 (weight 1); ᾱ = 0.9 → SNR 9 (weight 5/9); ᾱ = 5/6 → SNR 5 exactly (weight 1)
        assertEquals(1.0, UNetStage.minSnrWeight(0.5), 1e-12);
        assertEquals(5.0 / 9.0, UNetStage.minSnrWeight(0.9), 1e-12);
        assertEquals(1.0, UNetStage.minSnrWeight(5.0 / 6.0), 1e-12);
        double[] alphas = UNetStage.alphasCumprod();
        // SD's schedule: t = 0 is nearly noise-free (ᾱ ≈ 0.99915, SNR ≈ 1175), t = 999 nearly pure noise
        double snr0 = alphas[0] / (1 - alphas[0]);
        assertEquals(5 / snr0, UNetStage.minSnrWeight(alphas[0]), 1e-12);
        assertEquals(1.0, UNetStage.minSnrWeight(alphas[999]), 1e-12);
    }

    @Test
    void movingAverageWarmsUpInsteadOfKeepingTheInitialWeights() {
        Engine engine = TorchEngine.start(Path.of("target", "djl-cache"));
        try (NDManager manager = engine.newBaseManager()) {
            NDArray w = manager.create(new float[] {1f, -2f});
            w.setRequiresGradient(true);
            Parameters params = new Parameters(Map.of("w", w), new LearningRate(0.1f, 1, 10), 0f, 0.998f, manager);
            float[] ema = w.toFloatArray();
            for (int step = 1; step <= 3; step++) {
                try (GradientCollector gc = engine.newGradientCollector()) {
                    gc.backward(w.square().sum());
                }
                params.step();
                float[] live = w.toFloatArray();
                double decay = Math.min(0.998, (1.0 + step) / (10.0 + step));
                for (int i = 0; i < ema.length; i++) ema[i] = (float) (decay * ema[i] + (1 - decay) * live[i]);
                float[] exported = params.exported().get("w");
                for (int i = 0; i < ema.length; i++) assertEquals(ema[i], exported[i], 1e-6, "step " + step + " element " + i);
            }
            // after one step a fixed 0.998 would still export 99.8% of the initial value; the warm-up keeps 2/11
            params.close();
        }
    }
}
