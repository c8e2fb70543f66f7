package dev.membrane.training.shapes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The encoder half of the shapes model's autoencoder: a plain strided-convolution network from {@code [B, 3, 64,
 * 64]} in [-1, 1] to {@code [B, 4, 8, 8]} latents. It is only used in training (to make the UNet's training
 * latents), so it need not mirror SD's encoder; the decoder it is trained with does mirror SD's, because that is
 * what Membrane serves.
 */
final class VaeEncoder {
    /** Stages: (in, out, kernel, stride); SiLU between them, none after the last. */
    private static final int[][] STAGES = {{3, 32, 3, 1}, {32, 32, 3, 2}, {32, 64, 3, 2}, {64, 64, 3, 2}, {64, 64, 3, 1}, {64, 4, 1, 1}};
    private final Map<String, NDArray> tensors = new LinkedHashMap<>();

    /** PyTorch's default Conv2d initialisation (uniform ±1/√fan_in), from a stream per tensor name. */
    VaeEncoder(NDManager manager, long seed) {
        for (int i = 0; i < STAGES.length; i++) {
            int[] s = STAGES[i];
            int fanIn = s[0] * s[2] * s[2];
            double bound = 1 / Math.sqrt(fanIn);
            tensors.put("encoder." + i + ".weight", manager.create(uniform(seed, "encoder." + i + ".weight", s[1] * fanIn, bound),
                    new Shape(s[1], s[0], s[2], s[2])));
            tensors.put("encoder." + i + ".bias", manager.create(uniform(seed, "encoder." + i + ".bias", s[1], bound)));
        }
    }

    Map<String, NDArray> tensors() {
        return tensors;
    }

    NDArray encode(NDArray image) {
        NDArray h = image;
        for (int i = 0; i < STAGES.length; i++) {
            int[] s = STAGES[i];
            h = Conv2d.conv2d(h, tensors.get("encoder." + i + ".weight"), tensors.get("encoder." + i + ".bias"),
                    new Shape(s[3], s[3]), new Shape(s[2] / 2, s[2] / 2), new Shape(1, 1), 1).singletonOrThrow();
            if (i < STAGES.length - 1) h = h.mul(Activation.sigmoid(h));
        }
        return h;
    }

    static float[] uniform(long seed, String name, int count, double bound) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001b3L;
        }
        SplittableRandom r = new SplittableRandom(seed ^ h);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) out[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        return out;
    }
}
