package dev.membrane.gateway;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.safety.ImageClassifier;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.PreparedUNets;

/**
 * A model the gateway serves: its pipeline on a prepared UNet, and the SHA-256 of every ONNX and external-data
 * file for audit records (computed once at start). Thread-safe.
 */
public final class ServedModel implements AutoCloseable {
    private final String id;
    private final AdapterPipeline pipeline;
    private final OutputRecords.ModelInfo info;
    private final ImageClassifier classifier;

    private ServedModel(String id, AdapterPipeline pipeline, OutputRecords.ModelInfo info, ImageClassifier classifier) {
        this.id = id;
        this.pipeline = pipeline;
        this.info = info;
        this.classifier = classifier;
    }

    public static ServedModel open(String id, Path dir, OrtRuntime runtime, int slots) {
        return open(id, dir, (ImageClassifier) null, runtime, slots);
    }

    /**
     * @param classifier its output classifier ({@code membrane.models.<id>.classifier}), or null; the model owns it
     *                   from here and closes it
     */
    public static ServedModel open(String id, Path dir, ImageClassifier classifier, OrtRuntime runtime, int slots) {
        ModelFolder folder = ModelFolder.open(dir);
        Path prepared = PreparedUNets.ensure(folder, slots);
        StableDiffusionPipeline sd = StableDiffusionPipeline.open(folder, prepared, runtime);
        return new ServedModel(id, new AdapterPipeline(sd), new OutputRecords.ModelInfo(id, fileHashes(dir)), classifier);
    }

    /** Its output classifier, or null. */
    public ImageClassifier classifier() {
        return classifier;
    }

    /** SHA-256 of the model's graph and weight files, by path relative to the model folder. */
    static Map<String, String> fileHashes(Path dir) {
        Map<String, String> out = new TreeMap<>();
        for (String component : List.of("text_encoder", "unet", "vae_decoder")) {
            try (Stream<Path> files = Files.list(dir.resolve(component))) {
                for (Path f : files.sorted().toList()) {
                    String name = f.getFileName().toString();
                    if (name.endsWith(".onnx") || name.endsWith(".pb") || name.endsWith(".onnx_data") || name.endsWith(".data")) {
                        out.put(component + "/" + name, dev.membrane.Hashes.sha256(f));
                    }
                }
            } catch (IOException e) {
                throw new MembraneException(dir.resolve(component) + ": cannot list model files (" + e.getMessage() + ")");
            }
        }
        return out;
    }

    public String id() {
        return id;
    }

    public AdapterPipeline pipeline() {
        return pipeline;
    }

    public OutputRecords.ModelInfo info() {
        return info;
    }

    /** Admission's view of each model when no memory budget applies: its slots, and every image fits a batch. */
    public static Map<String, dev.membrane.gateway.admission.Admission.ModelCapacity> unbudgeted(Map<String, ServedModel> models, int maxBatchImages) {
        Map<String, dev.membrane.gateway.admission.Admission.ModelCapacity> out = new java.util.HashMap<>();
        models.forEach((id, m) -> out.put(id, new dev.membrane.gateway.admission.Admission.ModelCapacity() {
            public int slots() {
                return m.slots();
            }

            public int imagesPerBatch(dev.membrane.gateway.message.GenerationRequestMessage r) {
                return maxBatchImages;
            }

            public String budgetReason(dev.membrane.gateway.message.GenerationRequestMessage r) {
                return "";
            }
        }));
        return out;
    }

    public int slots() {
        return pipeline.layout().slots();
    }

    @Override
    public void close() {
        pipeline.pipeline().close();
        if (classifier != null) classifier.close();
    }
}
