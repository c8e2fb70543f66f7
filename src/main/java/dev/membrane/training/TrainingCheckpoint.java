package dev.membrane.training;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.membrane.MembraneException;
import dev.membrane.spm.safetensors.SafeTensors;
import dev.membrane.spm.safetensors.Tensor;

/**
 * A run's resumable state in one safetensors file: the SPM factors under their official names, AdamW's moments
 * ({@code adamw.m.<name>}, {@code adamw.v.<name>}), the per-iteration losses so far ({@code history.erase},
 * {@code history.anchor}), and metadata {@code membrane.iteration} (iterations done), {@code membrane.adamw.step},
 * {@code membrane.spec} (the recipe, JSON) and {@code membrane.unet} (the UNet file's size and name it trained on).
 * Every file this writes is written to a temporary sibling and renamed over the target, so a run killed at any
 * moment leaves the previous complete file.
 *
 * @param iteration     iterations completed
 * @param spec          the recipe
 * @param unet          identity of the UNet the run trains
 * @param parameters    SPM tensors by name
 * @param adamStep      optimizer step count
 * @param firstMoments  AdamW m by name
 * @param secondMoments AdamW v by name
 * @param lossErase     erase loss of each completed iteration
 * @param lossAnchor    anchor loss of each completed iteration
 */
public record TrainingCheckpoint(int iteration, TrainingSpec spec, String unet, Map<String, float[]> parameters, long adamStep,
                                 Map<String, float[]> firstMoments, Map<String, float[]> secondMoments,
                                 float[] lossErase, float[] lossAnchor) {
    private static final String M = "adamw.m.";
    private static final String V = "adamw.v.";

    /** The state file beside an output: {@code snoopy.safetensors} → {@code snoopy.checkpoint.safetensors}. */
    public static Path stateFileFor(Path out) {
        String name = out.getFileName().toString();
        String stem = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return out.resolveSibling(stem + ".checkpoint.safetensors");
    }

    public void write(Path file, Map<String, long[]> shapes) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        parameters.forEach((k, v) -> tensors.put(k, Tensor.f32(v, shapes.get(k))));
        firstMoments.forEach((k, v) -> tensors.put(M + k, Tensor.f32(v, shapes.get(k))));
        secondMoments.forEach((k, v) -> tensors.put(V + k, Tensor.f32(v, shapes.get(k))));
        if (iteration > 0) {
            tensors.put("history.erase", Tensor.f32(lossErase, lossErase.length));
            tensors.put("history.anchor", Tensor.f32(lossAnchor, lossAnchor.length));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("membrane.iteration", Integer.toString(iteration));
        metadata.put("membrane.adamw.step", Long.toString(adamStep));
        metadata.put("membrane.spec", spec.toJson());
        metadata.put("membrane.unet", unet);
        writeAtomically(file, SafeTensors.serialize(metadata, tensors));
    }

    public static TrainingCheckpoint read(Path file) {
        SafeTensors.Contents c = SafeTensors.read(file);
        String source = file.toString();
        Map<String, String> md = c.metadata();
        for (String key : List.of("membrane.iteration", "membrane.adamw.step", "membrane.spec", "membrane.unet")) {
            if (!md.containsKey(key)) throw new MembraneException(source + ": not a training checkpoint (metadata lacks " + key + ")");
        }
        Map<String, float[]> params = new LinkedHashMap<>();
        Map<String, float[]> m = new LinkedHashMap<>();
        Map<String, float[]> v = new LinkedHashMap<>();
        float[] erase = new float[0];
        float[] anchor = new float[0];
        for (Map.Entry<String, Tensor> e : c.tensors().entrySet()) {
            String k = e.getKey();
            float[] values = e.getValue().values();
            if (k.startsWith(M)) m.put(k.substring(M.length()), values);
            else if (k.startsWith(V)) v.put(k.substring(V.length()), values);
            else if (k.equals("history.erase")) erase = values;
            else if (k.equals("history.anchor")) anchor = values;
            else params.put(k, values);
        }
        int iteration = Integer.parseInt(md.get("membrane.iteration"));
        if (erase.length != iteration || anchor.length != iteration) {
            throw new MembraneException(source + ": checkpoint at iteration " + iteration + " holds " + erase.length + " loss values");
        }
        return new TrainingCheckpoint(iteration, TrainingSpec.fromJson(md.get("membrane.spec"), source), md.get("membrane.unet"),
                params, Long.parseLong(md.get("membrane.adamw.step")), m, v, erase, anchor);
    }

    /** Deletes temporary siblings a run killed mid-write left behind ({@code .<name>*.tmp}). */
    static void removeStaleTemporaries(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) return;
        String prefix = "." + file.getFileName();
        try (var entries = Files.list(dir)) {
            for (Path p : entries.filter(p -> p.getFileName().toString().startsWith(prefix) && p.getFileName().toString().endsWith(".tmp")).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new MembraneException(dir + ": cannot clean up temporary files (" + e.getMessage() + ")");
        }
    }

    /** Writes {@code bytes} to a temporary sibling, then renames it over {@code file}. */
    static void writeAtomically(Path file, byte[] bytes) {
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try {
                Files.write(tmp, bytes);
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot write (" + e.getMessage() + ")");
        }
    }
}
