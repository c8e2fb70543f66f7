package dev.membrane.diffusion;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;

/**
 * A Stable Diffusion model in the diffusers/optimum ONNX layout. Each model file may keep its weights in external
 * data beside it ({@code weights.pb}, {@code model.onnx_data}); ONNX Runtime resolves those relative to the file.
 *
 * @param root            the folder
 * @param modelIndex      {@code model_index.json}
 * @param schedulerConfig {@code scheduler/scheduler_config.json}
 * @param tokenizer       {@code tokenizer/} (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json)
 * @param textEncoder     {@code text_encoder/model.onnx}
 * @param unet            {@code unet/model.onnx}
 * @param vaeDecoder      {@code vae_decoder/model.onnx}
 * @param referencePreset the {@code _membrane_reference_preset} of a model Membrane built, else null
 * @param imageSize       the {@code _membrane_image_size} a Membrane-trained model was trained at, else null
 */
public record ModelFolder(Path root, Path modelIndex, Path schedulerConfig, Path tokenizer, Path textEncoder,
                          Path unet, Path vaeDecoder, String referencePreset, Integer imageSize) {

    static final String IMAGE_SIZE_KEY = "_membrane_image_size";

    /** Checks the layout and names the first missing or malformed file. */
    public static ModelFolder open(Path root) {
        if (!Files.isDirectory(root)) throw new MembraneException(root + ": model folder does not exist");
        Path index = root.resolve("model_index.json");
        requireFile(index, "pipeline index");
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(index.toFile());
        } catch (IOException e) {
            throw new MembraneException(index + ": not valid JSON (" + e.getMessage() + ")");
        }
        if (json == null || !json.isObject()) throw new MembraneException(index + ": not a JSON object");
        String cls = json.path("_class_name").asText("");
        if (!cls.isEmpty() && !cls.contains("StableDiffusion")) {
            throw new MembraneException(index + ": unsupported pipeline '" + cls + "' (a Stable Diffusion 1.x ONNX export is needed)");
        }
        String preset = json.hasNonNull("_membrane_reference_preset") ? json.get("_membrane_reference_preset").asText() : null;
        Integer size = null;
        if (json.hasNonNull(IMAGE_SIZE_KEY)) {
            JsonNode n = json.get(IMAGE_SIZE_KEY);
            if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 8 || n.asInt() % 8 != 0) {
                throw new MembraneException(index + ": " + IMAGE_SIZE_KEY + " must be a positive multiple of 8, got " + n);
            }
            size = n.asInt();
        }
        ModelFolder f = new ModelFolder(root, index, root.resolve("scheduler/scheduler_config.json"), root.resolve("tokenizer"),
                root.resolve("text_encoder/model.onnx"), root.resolve("unet/model.onnx"), root.resolve("vae_decoder/model.onnx"), preset, size);
        requireFile(f.schedulerConfig, "scheduler configuration");
        requireFile(f.tokenizer.resolve("vocab.json"), "tokenizer vocabulary");
        requireFile(f.tokenizer.resolve("merges.txt"), "tokenizer merges");
        requireFile(f.textEncoder, "text encoder model");
        requireFile(f.unet, "UNet model");
        requireFile(f.vaeDecoder, "VAE decoder model");
        return f;
    }

    /**
     * Records in {@code model_index.json} the side a model was trained at, so that every command's default size is
     * that side without a flag (a preset's size says what its graphs were built for, not what the weights learned).
     */
    public static void recordImageSize(Path root, int side) {
        Path index = root.resolve("model_index.json");
        ObjectMapper mapper = new ObjectMapper();
        try {
            JsonNode json = mapper.readTree(index.toFile());
            if (json == null || !json.isObject()) throw new MembraneException(index + ": not a JSON object");
            ((ObjectNode) json).put(IMAGE_SIZE_KEY, side);
            mapper.writerWithDefaultPrettyPrinter().writeValue(index.toFile(), json);
        } catch (IOException e) {
            throw new MembraneException(index + ": cannot record the image size (" + e.getMessage() + ")");
        }
    }

    private static void requireFile(Path p, String what) {
        if (!Files.isRegularFile(p)) throw new MembraneException(p + ": missing " + what);
    }
}
