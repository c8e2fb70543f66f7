package dev.membrane.onnx.reference;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Deterministic parameter values: each parameter draws from its own {@link SplittableRandom} seeded from the
 * model seed and the parameter's module path, so a value depends on nothing but its name (not on build order),
 * and the same name gives the same bits on every JVM (SplittableRandom's algorithm is specified).
 */
final class ParameterInit {
    private final long seed;

    ParameterInit(long seed) {
        this.seed = seed;
    }

    private SplittableRandom random(String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001b3L;
        }
        return new SplittableRandom(seed ^ h);
    }

    /** Uniform in [-bound, bound): PyTorch's default for Linear and Conv is bound = 1/sqrt(fan_in). */
    float[] uniform(String name, int count, double bound) {
        SplittableRandom r = random(name);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) out[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        return out;
    }

    /** Normal(0, std²) by Box-Muller over the parameter's own stream. */
    float[] normal(String name, int count, double std) {
        SplittableRandom r = random(name);
        float[] out = new float[count];
        for (int i = 0; i < count; i += 2) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            double radius = Math.sqrt(-2 * Math.log(u1)) * std;
            out[i] = (float) (radius * Math.cos(2 * Math.PI * u2));
            if (i + 1 < count) out[i + 1] = (float) (radius * Math.sin(2 * Math.PI * u2));
        }
        return out;
    }

    static float[] filled(int count, float value) {
        float[] out = new float[count];
        java.util.Arrays.fill(out, value);
        return out;
    }
}
