package dev.membrane.training.shapes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.world.ShapesWorld;

/**
 * The UNet's training set: captioned scenes rendered once, encoded once by the trained encoder into SD-scaled
 * latents (raw latent × 0.18215, unit variance), and their captions encoded once by the served text encoder. The
 * text encoder stays frozen, so its embeddings are constants of the run.
 */
final class LatentDataset {
    private static final int ENCODE_CHUNK = 128;
    private final float[][] latents;
    private final int[] captionOf;
    private final List<float[]> captionContexts;
    private final float[] unconditional;
    private final int latentSide;
    private final int contextLength;
    private final int contextWidth;

    private LatentDataset(float[][] latents, int[] captionOf, List<float[]> captionContexts, float[] unconditional,
                          int latentSide, int contextLength, int contextWidth) {
        this.latents = latents;
        this.captionOf = captionOf;
        this.captionContexts = captionContexts;
        this.unconditional = unconditional;
        this.latentSide = latentSide;
        this.contextLength = contextLength;
        this.contextWidth = contextWidth;
    }

    static LatentDataset build(VaeEncoder encoder, float latentScale, ShapesWorld world, PromptEncoder prompts,
                               ShapesRecipe recipe, NDManager manager, PrintStream log) {
        int n = recipe.datasetSize();
        int side = recipe.imageSize();
        SplittableRandom random = new SplittableRandom(recipe.seed() * 31 + 4);
        List<ShapesWorld.Sample> samples = new ArrayList<>(n);
        Map<String, Integer> captionIndex = new LinkedHashMap<>();
        int[] captionOf = new int[n];
        for (int i = 0; i < n; i++) {
            ShapesWorld.Sample s = world.sample(random);
            samples.add(s);
            captionOf[i] = captionIndex.computeIfAbsent(s.caption(), k -> captionIndex.size());
        }
        List<String> captions = new ArrayList<>(captionIndex.keySet());
        captions.add("");
        TextEmbeddings e = prompts.encode(captions);
        List<float[]> contexts = new ArrayList<>();
        for (int i = 0; i < captions.size() - 1; i++) contexts.add(e.row(i));
        float[] unconditional = e.row(captions.size() - 1);

        float[][] latents = new float[n][];
        int latentSide = side / 8;
        float factor = latentScale * VaeStage.SCALING_FACTOR;
        for (int from = 0; from < n; from += ENCODE_CHUNK) {
            int count = Math.min(ENCODE_CHUNK, n - from);
            float[] images = new float[count * 3 * side * side];
            for (int i = 0; i < count; i++) {
                ShapesWorld.toPlanar(world.render(samples.get(from + i).scene(), side), images, i * 3 * side * side);
            }
            try (NDManager pass = manager.newSubManager()) {
                NDArray z = encoder.encode(pass.create(images, new Shape(count, 3, side, side)));
                float[] v = z.toFloatArray();
                int per = 4 * latentSide * latentSide;
                for (int i = 0; i < count; i++) {
                    float[] l = new float[per];
                    for (int k = 0; k < per; k++) l[k] = v[i * per + k] * factor;
                    latents[from + i] = l;
                }
            }
        }
        log.printf("train-shapes data: %d images, %d distinct captions, latents %dx%dx4%n", n, captions.size() - 1, latentSide, latentSide);
        return new LatentDataset(latents, captionOf, contexts, unconditional, latentSide, e.length(), e.width());
    }

    int size() {
        return latents.length;
    }

    float[] latent(int i) {
        return latents[i];
    }

    float[] context(int i) {
        return captionContexts.get(captionOf[i]);
    }

    float[] unconditional() {
        return unconditional;
    }

    int latentSide() {
        return latentSide;
    }

    int latentElements() {
        return 4 * latentSide * latentSide;
    }

    int contextLength() {
        return contextLength;
    }

    int contextWidth() {
        return contextWidth;
    }

    int contextElements() {
        return contextLength * contextWidth;
    }
}
