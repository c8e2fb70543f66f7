package dev.membrane.training.shapes;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import dev.membrane.training.Gaussian;
import dev.membrane.training.Progress;
import dev.membrane.training.twin.SiteAdapters;
import dev.membrane.training.twin.TwinParameter;
import dev.membrane.training.twin.UNetTwin;

/**
 * Trains the served UNet's twin as SD was trained: ε-prediction, x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε with SD's
 * scaled-linear schedule (β from 0.00085 to 0.012 over 1000 steps, linear in √β), t uniform, MSE; 10% of captions
 * dropped to "" so that classifier-free guidance works at inference. Each sample's squared error is weighted by
 * min-SNR-γ (Hang et al., 2023: w_t = min(SNR_t, 5) / SNR_t for ε-prediction, SNR_t = ᾱ_t / (1 − ᾱ_t)), which stops
 * the nearly noise-free timesteps, where ε is hardest to see and matters least, from dominating the gradient;
 * the reported loss is the plain, unweighted MSE.
 */
final class UNetStage {
    static final int TRAIN_TIMESTEPS = 1000;
    static final double MIN_SNR_GAMMA = 5;

    record Result(Map<String, float[]> weights, LossCurve curve, double seconds) {
    }

    private UNetStage() {
    }

    /** ᾱ_t for t = 0..999 under SD's scaled-linear betas. */
    static double[] alphasCumprod() {
        double[] out = new double[TRAIN_TIMESTEPS];
        double start = Math.sqrt(0.00085);
        double end = Math.sqrt(0.012);
        double product = 1;
        for (int t = 0; t < TRAIN_TIMESTEPS; t++) {
            double root = start + (end - start) * t / (TRAIN_TIMESTEPS - 1);
            product *= 1 - root * root;
            out[t] = product;
        }
        return out;
    }

    /** min(SNR, γ) / SNR for ε-prediction, SNR = ᾱ / (1 − ᾱ): 1 at high noise, γ/SNR where SNR exceeds γ. */
    static double minSnrWeight(double alphaBar) {
        double snr = alphaBar / (1 - alphaBar);
        return Math.min(snr, MIN_SNR_GAMMA) / snr;
    }

    /** Hears the exportable weights every {@code every} steps (so a long run can be sampled while it trains). */
    interface Snapshots {
        int every();

        void accept(int step, Map<String, float[]> weights);
    }

    /**
     * One round: {@code recipe.unetSteps()} steps under one warm-up and cosine, a fresh AdamW state and average.
     *
     * @param stage the round's name in the log, the curves and the report ("unet", "unet-2")
     */
    static Result train(Engine engine, UNetTwin twin, LatentDataset data, ShapesRecipe recipe, String stage, PrintStream log,
                        Snapshots snapshots) {
        NDManager manager = twin.manager();
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (TwinParameter p : twin.parameters()) tensors.put(p.initializer(), p.array());
        Parameters params = new Parameters(tensors, new LearningRate(recipe.unetLearningRate(), Math.min(500, recipe.unetSteps() / 10 + 1),
                recipe.unetSteps()), 0.01f, recipe.emaDecay(), manager);
        log.printf("train-shapes " + stage + ": %d parameters, %d steps of %d latents from %d captioned images%n",
                params.count(), recipe.unetSteps(), recipe.unetBatch(), data.size());
        double[] alphas = alphasCumprod();
        LossCurve curve = new LossCurve(stage, recipe.unetSteps());
        Progress progress = Progress.log(log, "train-shapes " + stage);
        progress.start(recipe.unetSteps());
        SplittableRandom random = new SplittableRandom(recipe.seed() * 31 + 3);
        int b = recipe.unetBatch();
        int n = data.latentElements();
        int ctx = data.contextElements();
        for (int step = 0; step < recipe.unetSteps(); step++) {
            float[] noisy = new float[b * n];
            float[] timesteps = new float[b];
            float[] weights = new float[b];
            float[] context = new float[b * ctx];
            float[] noise = Gaussian.fill(random, b * n);
            for (int i = 0; i < b; i++) {
                int item = random.nextInt(data.size());
                int t = random.nextInt(TRAIN_TIMESTEPS);
                timesteps[i] = t;
                weights[i] = (float) minSnrWeight(alphas[t]);
                double a = Math.sqrt(alphas[t]);
                double s = Math.sqrt(1 - alphas[t]);
                float[] x0 = data.latent(item);
                for (int k = 0; k < n; k++) noisy[i * n + k] = (float) (a * x0[k] + s * noise[i * n + k]);
                boolean drop = random.nextDouble() < recipe.captionDropout();
                System.arraycopy(drop ? data.unconditional() : data.context(item), 0, context, i * ctx, ctx);
            }
            double loss;
            try (NDManager pass = manager.newSubManager()) {
                NDArray x = pass.create(noisy, new Shape(b, 4, data.latentSide(), data.latentSide()));
                NDArray t = pass.create(timesteps, new Shape(b));
                NDArray c = pass.create(context, new Shape(b, data.contextLength(), data.contextWidth()));
                NDArray eps = pass.create(noise, new Shape(b, 4, data.latentSide(), data.latentSide()));
                NDArray w = pass.create(weights, new Shape(b));
                try (GradientCollector gc = engine.newGradientCollector()) {
                    NDArray perSample = twin.predict(x, t, c, SiteAdapters.NONE).sub(eps).square().reshape(b, n).mean(new int[] {1});
                    gc.backward(perSample.mul(w).mean());
                    loss = perSample.mean().getFloat();
                }
            }
            params.step();
            curve.add(step + 1, loss);
            progress.update(step + 1, curve.progressDetail());
            if (snapshots.every() > 0 && (step + 1) % snapshots.every() == 0 && step + 1 < recipe.unetSteps()) {
                snapshots.accept(step + 1, exportable(twin, params));
            }
        }
        Map<String, float[]> weights = exportable(twin, params);
        params.close();
        return new Result(weights, curve, progress.seconds());
    }

    /** The averaged weights by initializer, in the graph's layout. */
    private static Map<String, float[]> exportable(UNetTwin twin, Parameters params) {
        Map<String, float[]> exported = params.exported();
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (TwinParameter p : twin.parameters()) weights.put(p.initializer(), p.inInitializerLayout(exported.get(p.initializer())));
        return weights;
    }
}
