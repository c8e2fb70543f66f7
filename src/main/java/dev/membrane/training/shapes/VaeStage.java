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
import dev.membrane.training.twin.TwinParameter;
import dev.membrane.training.twin.VaeDecoderTwin;
import dev.membrane.world.ShapesWorld;

/**
 * Trains the autoencoder: {@link VaeEncoder} and the served decoder's twin together on freshly rendered images,
 * L = MSE(decode(z + σε), x) + β·mean(z²). The noise makes the decoder tolerant of latents that are slightly off
 * (which is what a small diffusion model produces); β keeps the latents from growing to drown it. Afterwards the
 * latents are rescaled so that SD's scaling factor 0.18215 maps them to unit variance, as it does on SD's VAE: the
 * scale folds into the encoder (used only here) and, inverted, into {@code post_quant_conv}.
 */
final class VaeStage {
    static final float SCALING_FACTOR = 0.18215f;
    private static final float LATENT_NOISE = 0.1f;
    private static final float LATENT_PENALTY = 1e-4f;

    /** The trained autoencoder: the encoder's output times {@code latentScale} is the raw SD latent. */
    record Result(VaeEncoder encoder, float latentScale, LossCurve curve, double seconds) {
    }

    private VaeStage() {
    }

    static Result train(Engine engine, NDManager manager, VaeDecoderTwin decoder, ShapesWorld world, ShapesRecipe recipe,
                        PrintStream log) {
        VaeEncoder encoder = new VaeEncoder(manager, recipe.seed());
        Map<String, NDArray> tensors = new LinkedHashMap<>(encoder.tensors());
        for (TwinParameter p : decoder.parameters()) tensors.put(p.initializer(), p.array());
        log.printf("train-shapes vae: %d parameters (encoder + served decoder), %d steps of %d images%n",
                Parameters.count(tensors), recipe.vaeSteps(), recipe.vaeBatch());
        Trained trained = run(engine, manager, tensors, "vae", recipe.vaeSteps(), recipe.seed() * 31 + 1, world, recipe, log,
                (pass, x, eps) -> {
                    NDArray z = encoder.encode(x);
                    NDArray mse = decoder.decode(z.add(eps.mul(pass.create(LATENT_NOISE)))).sub(x).square().mean();
                    return new NDArray[] {mse.add(z.square().mean().mul(pass.create(LATENT_PENALTY))), mse};
                });
        float std = latentStd(encoder, world, new SplittableRandom(recipe.seed() * 31 + 2), manager, recipe.imageSize());
        // raw latents then have std 1/0.18215, as SD's VAE latents do
        float scale = 1f / (SCALING_FACTOR * std);
        log.printf("train-shapes vae: latent std %.4f, scaled by %.4f; reconstruction MSE %.5f%n", std, scale, trained.curve().last());
        return new Result(encoder, scale, trained.curve(), trained.seconds());
    }

    /**
     * Decoder-only refinement: the served decoder (as exported, its {@code post_quant_conv} already folding the latent
     * scale) keeps training on the frozen encoder's scaled latents. The encoder does not move, so the latents the
     * UNet was trained on stay exactly what they were; only how well they are drawn improves. The decoder is
     * exported as it is (the scale is already folded in).
     */
    static Result refineDecoder(Engine engine, NDManager manager, VaeDecoderTwin decoder, VaeEncoder encoder, float latentScale,
                                ShapesWorld world, ShapesRecipe recipe, PrintStream log) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (TwinParameter p : decoder.parameters()) tensors.put(p.initializer(), p.array());
        log.printf("train-shapes decoder: %d parameters, %d steps of %d images (encoder frozen)%n", Parameters.count(tensors),
                recipe.decoderSteps(), recipe.vaeBatch());
        Trained trained = run(engine, manager, tensors, "decoder", recipe.decoderSteps(), recipe.seed() * 31 + 6, world, recipe, log,
                (pass, x, eps) -> {
                    NDArray z = encoder.encode(x).stopGradient().mul(pass.create(latentScale));
                    NDArray mse = decoder.decode(z.add(eps.mul(pass.create(LATENT_NOISE * latentScale)))).sub(x).square().mean();
                    return new NDArray[] {mse, mse};
                });
        return new Result(encoder, latentScale, trained.curve(), trained.seconds());
    }

    /** One batch's loss: {what is backpropagated, the reconstruction MSE reported}. */
    private interface BatchLoss {
        NDArray[] of(NDManager pass, NDArray images, NDArray latentNoise);
    }

    private record Trained(LossCurve curve, double seconds) {
    }

    /**
     * The autoencoder stages' loop: each step renders a fresh batch, draws the latent noise, backpropagates the loss
     * and steps AdamW (no weight decay, no average) on {@code tensors}.
     */
    private static Trained run(Engine engine, NDManager manager, Map<String, NDArray> tensors, String stage, int steps, long stream,
                               ShapesWorld world, ShapesRecipe recipe, PrintStream log, BatchLoss loss) {
        Parameters params = new Parameters(tensors, new LearningRate(recipe.vaeLearningRate(), Math.min(100, steps / 10 + 1), steps),
                0f, 0f, manager);
        LossCurve curve = new LossCurve(stage, steps);
        Progress progress = Progress.log(log, "train-shapes " + stage);
        progress.start(steps);
        SplittableRandom random = new SplittableRandom(stream);
        int side = recipe.imageSize();
        int batch = recipe.vaeBatch();
        for (int step = 0; step < steps; step++) {
            float[] images = render(world, random, batch, side);
            float[] noise = Gaussian.fill(random, batch * 4 * (side / 8) * (side / 8));
            double reported;
            try (NDManager pass = manager.newSubManager()) {
                NDArray x = pass.create(images, new Shape(batch, 3, side, side));
                NDArray eps = pass.create(noise, new Shape(batch, 4, side / 8, side / 8));
                try (GradientCollector gc = engine.newGradientCollector()) {
                    NDArray[] l = loss.of(pass, x, eps);
                    gc.backward(l[0]);
                    reported = l[1].getFloat();
                }
            }
            params.step();
            curve.add(step + 1, reported);
            progress.update(step + 1, curve.progressDetail());
        }
        params.close();
        return new Trained(curve, progress.seconds());
    }

    /** Renders {@code n} sampled scenes as planar [-1, 1] images. */
    static float[] render(ShapesWorld world, SplittableRandom random, int n, int side) {
        float[] out = new float[n * 3 * side * side];
        for (int i = 0; i < n; i++) {
            ShapesWorld.toPlanar(world.render(world.sample(random).scene(), side), out, i * 3 * side * side);
        }
        return out;
    }

    /** Eight held-out renders (top row) and their reconstructions (bottom row), for the model's README. */
    static void writeReconstructions(java.nio.file.Path file, VaeEncoder encoder, float encoderScale, VaeDecoderTwin decoder,
                                     ShapesWorld world, ShapesRecipe recipe, NDManager manager) {
        int n = 8;
        int side = recipe.imageSize();
        float[] images = render(world, new SplittableRandom(recipe.seed() * 31 + 5), n, side);
        float[] out;
        try (NDManager pass = manager.newSubManager()) {
            NDArray z = encoder.encode(pass.create(images, new Shape(n, 3, side, side))).mul(pass.create(encoderScale));
            out = decoder.decode(z).toFloatArray();
        }
        java.awt.image.BufferedImage grid = new java.awt.image.BufferedImage(n * side, 2 * side, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < n; i++) {
            paint(grid, images, i, side, i * side, 0);
            paint(grid, out, i, side, i * side, side);
        }
        try {
            java.nio.file.Files.createDirectories(file.getParent());
            javax.imageio.ImageIO.write(grid, "png", file.toFile());
        } catch (java.io.IOException e) {
            throw new dev.membrane.MembraneException(file + ": cannot write reconstructions (" + e.getMessage() + ")");
        }
    }

    private static void paint(java.awt.image.BufferedImage grid, float[] planar, int index, int side, int x0, int y0) {
        int plane = side * side;
        int base = index * 3 * plane;
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    float v = planar[base + c * plane + y * side + x];
                    int u = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5f)));
                    rgb = (rgb << 8) | u;
                }
                grid.setRGB(x0 + x, y0 + y, rgb);
            }
        }
    }

    private static float latentStd(VaeEncoder encoder, ShapesWorld world, SplittableRandom random, NDManager manager, int side) {
        int n = 256;
        try (NDManager pass = manager.newSubManager()) {
            NDArray z = encoder.encode(pass.create(render(world, random, n, side), new Shape(n, 3, side, side)));
            float[] v = z.toFloatArray();
            double sum = 0;
            double sq = 0;
            for (float f : v) {
                sum += f;
                sq += f * (double) f;
            }
            double mean = sum / v.length;
            return (float) Math.sqrt(sq / v.length - mean * mean);
        }
    }

    /**
     * The decoder's values to export: the twin's, with {@code post_quant_conv.weight} divided by the latent scale
     * so that decoding a scaled latent gives what decoding the unscaled one did in training.
     */
    static Map<String, float[]> exportedDecoder(VaeDecoderTwin decoder, float latentScale) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (TwinParameter p : decoder.parameters()) {
            float[] v = p.initializerValues();
            if (p.initializer().equals("post_quant_conv.weight")) {
                for (int i = 0; i < v.length; i++) v[i] /= latentScale;
            }
            out.put(p.initializer(), v);
        }
        return out;
    }
}
