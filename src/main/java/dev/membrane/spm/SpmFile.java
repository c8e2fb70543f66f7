package dev.membrane.spm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import dev.membrane.MembraneException;
import dev.membrane.spm.safetensors.DType;
import dev.membrane.spm.safetensors.SafeTensors;
import dev.membrane.spm.safetensors.Tensor;

/**
 * An SPM adapter in the official format: per module {@code <key>.lora_down.weight} ([r, in] or [r, in, 1, 1]),
 * {@code <key>.lora_up.weight} ([out, r] or [out, r, 1, 1]) and {@code <key>.alpha} (scalar), with header metadata
 * {@code prompts} (comma-separated target concepts), {@code rank} and {@code alpha}. Identified by the SHA-256 of
 * its bytes. Immutable.
 *
 * <p>alpha follows the official code and kohya: an alpha of 0, or none (no {@code .alpha} tensor, no or a
 * {@code None} metadata {@code alpha}), means alpha = rank, i.e. scale 1. The official inference scales by the
 * metadata {@code alpha}, other loaders by the tensors; a file where the two disagree means two different adapters
 * and is refused.
 */
public final class SpmFile {
    private static final String DOWN = ".lora_down.weight";
    private static final String UP = ".lora_up.weight";
    private static final String ALPHA = ".alpha";
    /**
     * How far a module's {@code .alpha} may be from the metadata {@code alpha}, relative: the tensor may be stored
     * as F16 or BF16 (8 significant bits) while the metadata is the decimal the trainer wrote.
     */
    private static final double ALPHA_TOLERANCE = 0x1p-8;

    private final String source;
    private final String sha256;
    private final Map<String, String> metadata;
    private final List<String> prompts;
    private final String dtype;
    private final Map<String, SpmModule> modules;
    private final float alpha;

    private SpmFile(String source, String sha256, Map<String, String> metadata, List<String> prompts, String dtype,
                    Map<String, SpmModule> modules, float alpha) {
        this.source = source;
        this.sha256 = sha256;
        this.metadata = Map.copyOf(metadata);
        this.prompts = List.copyOf(prompts);
        this.dtype = dtype;
        this.modules = java.util.Collections.unmodifiableMap(modules);
        this.alpha = alpha;
    }

    public static SpmFile read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot read SPM file (" + e.getMessage() + ")");
        }
        return parse(file.toString(), bytes);
    }

    public static SpmFile parse(String source, byte[] bytes) {
        SafeTensors.Contents c = SafeTensors.parse(source, bytes);
        String promptText = c.metadata().get("prompts");
        if (promptText == null || promptText.isBlank()) {
            throw new MembraneException(source + ": SPM metadata lacks 'prompts' (the target concepts)");
        }
        List<String> prompts = new ArrayList<>();
        for (String p : promptText.split(",")) if (!p.isBlank()) prompts.add(p.strip());
        Map<String, Map<String, Tensor>> byKey = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : c.tensors().entrySet()) {
            String name = e.getKey();
            String suffix = name.endsWith(DOWN) ? DOWN : name.endsWith(UP) ? UP : name.endsWith(ALPHA) ? ALPHA : null;
            if (suffix == null || !name.startsWith("lora_unet_")) {
                throw new MembraneException(source + ": unknown key " + name + " (expected lora_unet_<module>"
                        + DOWN + ", " + UP + " or " + ALPHA + ")");
            }
            byKey.computeIfAbsent(name.substring(0, name.length() - suffix.length()), k -> new LinkedHashMap<>()).put(suffix, e.getValue());
        }
        if (byKey.isEmpty()) throw new MembraneException(source + ": SPM file has no modules");
        Map<String, SpmModule> modules = new LinkedHashMap<>();
        java.util.Set<DType> dtypes = new java.util.TreeSet<>();
        for (Map.Entry<String, Map<String, Tensor>> e : byKey.entrySet()) {
            String key = e.getKey();
            Tensor down = e.getValue().get(DOWN);
            Tensor up = e.getValue().get(UP);
            Tensor alpha = e.getValue().get(ALPHA);
            if (down == null || up == null) {
                throw new MembraneException(source + ": module " + key + " lacks " + (down == null ? DOWN : UP).substring(1));
            }
            dtypes.add(down.dtype());
            dtypes.add(up.dtype());
            modules.put(key, module(source, key, down, up, alpha));
        }
        Double declared = metadataAlpha(source, c.metadata().get("alpha"));
        if (declared != null) {
            for (SpmModule m : modules.values()) {
                double expected = declared == 0 ? m.rank() : declared;
                if (Math.abs(m.alpha() - expected) > ALPHA_TOLERANCE * Math.max(Math.abs(m.alpha()), Math.abs(expected))) {
                    throw new MembraneException(source + ": metadata alpha " + c.metadata().get("alpha") + " (" + expected
                            + " at rank " + m.rank() + ") but module " + m.key() + " has alpha " + m.alpha()
                            + "; the official inference would scale by the one, other loaders by the other");
                }
            }
        }
        int rank = modules.values().stream().mapToInt(SpmModule::rank).max().orElse(0);
        // the official inference takes alpha from the metadata, so official stacking does too where there is one
        float alpha = declared == null ? modules.values().iterator().next().alpha() : declared == 0 ? rank : declared.floatValue();
        String dtype = dtypes.size() == 1 ? dtypes.iterator().next().name().toLowerCase() : "mixed";
        return new SpmFile(source, sha256(bytes), c.metadata(), prompts, dtype, modules, alpha);
    }

    /** The metadata {@code alpha}: null when absent or Python's {@code None} (both mean rank), else a finite number. */
    private static Double metadataAlpha(String source, String text) {
        if (text == null || text.isBlank() || text.strip().equals("None")) return null;
        double v;
        try {
            v = Double.parseDouble(text.strip());
        } catch (NumberFormatException e) {
            throw new MembraneException(source + ": metadata alpha '" + text + "' is not a number");
        }
        if (!Double.isFinite(v)) throw new MembraneException(source + ": metadata alpha '" + text + "' is not finite");
        return v;
    }

    /** {@code alpha} may be null (no tensor): like 0 it means alpha = rank, the official and kohya convention. */
    private static SpmModule module(String source, String key, Tensor down, Tensor up, Tensor alpha) {
        long[] d = down.shape();
        long[] u = up.shape();
        boolean conv = d.length == 4;
        boolean shapesOk = (d.length == 2 && u.length == 2) || (conv && u.length == 4 && d[2] == 1 && d[3] == 1 && u[2] == 1 && u[3] == 1);
        if (!shapesOk || d[0] != u[1] || d[0] < 1) {
            throw new MembraneException(source + ": module " + key + " has lora_down " + Arrays.toString(d)
                    + " and lora_up " + Arrays.toString(u) + ", which are not a rank-r pair");
        }
        int rank = (int) d[0];
        float a = rank;
        if (alpha != null) {
            if (alpha.values().length != 1) throw new MembraneException(source + ": " + key + ".alpha is not a scalar");
            float v = alpha.values()[0];
            if (!Float.isFinite(v)) throw new MembraneException(source + ": " + key + ".alpha is " + v);
            // 0 would otherwise scale the module to nothing; the official SPMLayer and kohya read it as "rank"
            if (v != 0) a = v;
        }
        return new SpmModule(key, down.values(), up.values(), rank, (int) d[1], (int) u[0], a);
    }

    static String sha256(byte[] bytes) {
        return dev.membrane.Hashes.sha256(bytes);
    }

    /** Which of a UNet's sites this file covers; refuses keys the UNet lacks and shapes that differ. */
    public record SiteMatch(List<AdapterSite> matched, List<AdapterSite> unmatched) {
    }

    public SiteMatch match(List<AdapterSite> sites) {
        Map<String, AdapterSite> byKey = new LinkedHashMap<>();
        for (AdapterSite s : sites) byKey.put(s.key(), s);
        List<AdapterSite> matched = new ArrayList<>();
        for (SpmModule m : modules.values()) {
            AdapterSite site = byKey.get(m.key());
            if (site == null) throw new MembraneException(source + ": key " + m.key() + " addresses no SPM site of this UNet");
            if (site.in() != m.in() || site.out() != m.out()) {
                throw new MembraneException(source + ": key " + m.key() + " is " + m.out() + "x" + m.in()
                        + " but the UNet's layer is " + site.out() + "x" + site.in());
            }
            matched.add(site);
        }
        List<AdapterSite> unmatched = new ArrayList<>(sites);
        unmatched.removeAll(matched);
        return new SiteMatch(matched, unmatched);
    }

    public String source() {
        return source;
    }

    public String sha256() {
        return sha256;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public List<String> prompts() {
        return prompts;
    }

    /** The rank of the modules (the largest where they differ). */
    public int rank() {
        return modules.values().stream().mapToInt(SpmModule::rank).max().orElse(0);
    }

    /**
     * The file's alpha, as the official inference reads it: the metadata {@code alpha}, else the first module's
     * (rank where either is 0 or missing). Every module's alpha agrees with it (to F16/BF16 rounding).
     */
    public float alpha() {
        return alpha;
    }

    /**
     * Whether every module has the file's rank and (to F16/BF16 rounding) its alpha: what official stacking, which
     * scales every module by the one alpha / r, needs.
     */
    public boolean uniform() {
        int r = rank();
        return modules.values().stream().allMatch(m -> m.rank() == r
                && Math.abs(m.alpha() - alpha) <= ALPHA_TOLERANCE * Math.max(Math.abs(m.alpha()), Math.abs(alpha)));
    }

    /** f32, f16, bf16 or mixed. */
    public String dtype() {
        return dtype;
    }

    public Map<String, SpmModule> modules() {
        return modules;
    }

    /**
     * Writes an SPM file in the official layout (F32; 1x1-conv sites get 4-D shapes), with metadata {@code prompts},
     * {@code rank} and {@code alpha}, and returns the SHA-256 of the bytes written.
     */
    public static String write(Path file, List<String> prompts, List<AdapterSite> sites, List<SpmModule> modules) {
        byte[] bytes = serialize(prompts, sites, modules);
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot write SPM file (" + e.getMessage() + ")");
        }
        return sha256(bytes);
    }

    /** The bytes {@link #write} writes. */
    public static byte[] serialize(List<String> prompts, List<AdapterSite> sites, List<SpmModule> modules) {
        if (sites.size() != modules.size() || modules.isEmpty()) throw new IllegalArgumentException("one module per site");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (int i = 0; i < sites.size(); i++) {
            AdapterSite site = sites.get(i);
            SpmModule m = modules.get(i);
            long[] down = site.downShape(m.rank());
            long[] up = site.upShape(m.rank());
            tensors.put(m.key() + DOWN, Tensor.f32(m.down(), down));
            tensors.put(m.key() + UP, Tensor.f32(m.up(), up));
            tensors.put(m.key() + ALPHA, Tensor.scalar(m.alpha()));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("prompts", String.join(",", prompts)); // the official join: ",".join(prompts)
        metadata.put("rank", Integer.toString(modules.get(0).rank()));
        metadata.put("alpha", Float.toString(modules.get(0).alpha()));
        return SafeTensors.serialize(metadata, tensors);
    }
}
