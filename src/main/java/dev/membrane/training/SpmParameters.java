package dev.membrane.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import dev.membrane.MembraneException;
import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.SpmModule;
import dev.membrane.training.twin.SiteAdapters;

/**
 * The trainable SPM: per site D = {@code lora_down} [r, in] and U = {@code lora_up} [out, r], scale alpha/r.
 * The master values are Java arrays (what the optimizer updates and the checkpoint stores); each forward binds them
 * as NDArrays in the caller's manager, with gradients where trained. The forward is the gateway's slot forward:
 * y = W x + m·(alpha/r)·U(D x).
 */
public final class SpmParameters {
    private final int rank;
    private final float alpha;
    private final List<AdapterSite> sites;
    private final Map<String, float[]> down;
    private final Map<String, float[]> up;

    private SpmParameters(int rank, float alpha, List<AdapterSite> sites, Map<String, float[]> down, Map<String, float[]> up) {
        this.rank = rank;
        this.alpha = alpha;
        this.sites = List.copyOf(sites);
        this.down = down;
        this.up = up;
    }

    /**
     * The official initialisation: D Kaiming-uniform with a = √5 (bound √(6/((1+a²)·fan_in)) = 1/√fan_in), U zero,
     * so training starts from the base model. Each site draws from its own stream seeded by the seed and its key.
     * An alpha of 0 means alpha = rank (the kohya/official convention).
     */
    public static SpmParameters initialise(List<AdapterSite> sites, int rank, float alpha, long seed) {
        if (rank < 1) throw new MembraneException("--rank must be at least 1, got " + rank);
        if (alpha < 0) throw new MembraneException("--alpha must not be negative, got " + alpha);
        Map<String, float[]> d = new LinkedHashMap<>();
        Map<String, float[]> u = new LinkedHashMap<>();
        for (AdapterSite s : sites) {
            SplittableRandom r = new SplittableRandom(seed ^ fnv(s.key()));
            double bound = 1 / Math.sqrt(s.in());
            float[] values = new float[rank * s.in()];
            for (int i = 0; i < values.length; i++) values[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
            d.put(s.key(), values);
            u.put(s.key(), new float[s.out() * rank]);
        }
        return new SpmParameters(rank, alpha == 0 ? rank : alpha, sites, d, u);
    }

    /** An existing adapter on these sites (every site it covers; others get none). */
    public static SpmParameters of(SpmFile file, List<AdapterSite> sites) {
        Map<String, float[]> d = new LinkedHashMap<>();
        Map<String, float[]> u = new LinkedHashMap<>();
        List<AdapterSite> matched = file.match(sites).matched();
        for (AdapterSite s : matched) {
            SpmModule m = file.modules().get(s.key());
            d.put(s.key(), m.down().clone());
            u.put(s.key(), m.up().clone());
        }
        return new SpmParameters(file.rank(), file.alpha(), matched, d, u); // SpmFile already reads alpha 0 as rank
    }

    private static long fnv(String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001b3L;
        }
        return h;
    }

    public int rank() {
        return rank;
    }

    public float alpha() {
        return alpha;
    }

    public double scale() {
        return alpha / (double) rank;
    }

    public List<AdapterSite> sites() {
        return sites;
    }

    /** Parameter tensors by name ({@code <key>.lora_down.weight}, {@code <key>.lora_up.weight}), live (not copies). */
    public Map<String, float[]> tensors() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (AdapterSite s : sites) {
            out.put(s.key() + ".lora_down.weight", down.get(s.key()));
            out.put(s.key() + ".lora_up.weight", up.get(s.key()));
        }
        return out;
    }

    /** The modules as the SPM file format holds them (copies). */
    public List<SpmModule> modules() {
        List<SpmModule> out = new ArrayList<>();
        for (AdapterSite s : sites) {
            out.add(new SpmModule(s.key(), down.get(s.key()).clone(), up.get(s.key()).clone(), rank, s.in(), s.out(), alpha));
        }
        return out;
    }

    /** Writes the official format (metadata {@code prompts}, {@code rank}, {@code alpha}); returns the SHA-256. */
    public String write(java.nio.file.Path file, List<String> prompts) {
        return SpmFile.write(file, prompts, sites, modules());
    }

    /** Binds the factors in {@code m} with multiplier {@code multiplier}; {@code trainable} records gradients. */
    public Bound bind(NDManager m, double multiplier, boolean trainable) {
        return new Bound(m, multiplier, trainable);
    }

    /** The factors as NDArrays of one forward/backward pass. */
    public final class Bound implements SiteAdapters {
        private final Map<String, AdapterSite> byModule = new HashMap<>();
        private final Map<String, NDArray> d = new HashMap<>();
        private final Map<String, NDArray> u = new HashMap<>();
        private final float weight;
        /** m·alpha/r as a tensor that lives as long as the binding (see TwinLayers on numbers and autograd). */
        private final NDArray weightTensor;

        private Bound(NDManager m, double multiplier, boolean trainable) {
            weight = (float) (multiplier * scale());
            weightTensor = m.create(weight);
            for (AdapterSite s : sites) {
                NDArray dd = m.create(down.get(s.key()), new Shape(rank, s.in()));
                NDArray uu = m.create(up.get(s.key()), new Shape(s.out(), rank));
                if (trainable) {
                    dd.setRequiresGradient(true);
                    uu.setRequiresGradient(true);
                }
                byModule.put(s.module(), s);
                d.put(s.key(), dd);
                u.put(s.key(), uu);
            }
        }

        @Override
        public NDArray delta(String module, NDArray x) {
            AdapterSite s = byModule.get(module);
            if (s == null || weight == 0) return null;
            NDArray dd = d.get(s.key());
            NDArray uu = u.get(s.key());
            if (s.kind() == AdapterSite.Kind.MATMUL) {
                return x.matMul(dd.transpose()).matMul(uu.transpose()).mul(weightTensor);
            }
            Shape shape = x.getShape();
            NDArray flat = x.reshape(shape.get(0), shape.get(1), -1);
            return uu.matMul(dd.matMul(flat)).reshape(shape.get(0), s.out(), shape.get(2), shape.get(3)).mul(weightTensor);
        }

        /** Gradients by tensor name, in the order of {@link #tensors()}, after a backward pass. */
        public Map<String, float[]> gradients() {
            Map<String, float[]> out = new LinkedHashMap<>();
            for (AdapterSite s : sites) {
                out.put(s.key() + ".lora_down.weight", d.get(s.key()).getGradient().toFloatArray());
                out.put(s.key() + ".lora_up.weight", u.get(s.key()).getGradient().toFloatArray());
            }
            return out;
        }
    }
}
