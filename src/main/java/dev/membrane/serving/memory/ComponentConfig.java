package dev.membrane.serving.memory;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.MembraneException;

/**
 * A component's diffusers {@code config.json} ({@code unet/config.json}, {@code vae_decoder/config.json}), the
 * fallback where a size cannot be read off the graph (an optimised export whose node names are gone). Absent is
 * fine; malformed is an error.
 */
final class ComponentConfig {
    private final Path file;
    private final JsonNode json;

    private ComponentConfig(Path file, JsonNode json) {
        this.file = file;
        this.json = json;
    }

    /** {@code config.json} beside {@code modelFile}, or an empty config when there is none. */
    static ComponentConfig beside(Path modelFile) {
        Path f = modelFile.resolveSibling("config.json");
        if (!Files.isRegularFile(f)) return new ComponentConfig(f, null);
        try {
            return new ComponentConfig(f, new ObjectMapper().readTree(f.toFile()));
        } catch (IOException e) {
            throw new MembraneException(f + ": not valid JSON (" + e.getMessage() + ")");
        }
    }

    static ComponentConfig of(Path file, JsonNode json) {
        return new ComponentConfig(file, json);
    }

    Path file() {
        return file;
    }

    boolean present() {
        return json != null;
    }

    Optional<JsonNode> get(String key) {
        if (json == null || !json.hasNonNull(key)) return Optional.empty();
        return Optional.of(json.get(key));
    }

    /** {@code key} as an int, or element {@code index} of it when it is a list (diffusers allows both). */
    OptionalInt intOrElement(String key, int index) {
        Optional<JsonNode> n = get(key);
        if (n.isEmpty()) return OptionalInt.empty();
        JsonNode v = n.get().isArray() ? n.get().path(index) : n.get();
        return v.isInt() ? OptionalInt.of(v.asInt()) : OptionalInt.empty();
    }

    /** What to say when neither the graph nor this config gives a size. */
    MembraneException missing(Path model, String what, String key) {
        return new MembraneException(model + ": cannot read the " + what + " from the graph (no exporter names for it), and "
                + (present() ? file + " has no '" + key + "'" : "there is no " + file)
                + "; the memory budget needs it (a diffusers SD 1.x export or its config.json)");
    }

    /** Activation element bytes for an ONNX weight type: fp16/bf16 exports compute in 2 bytes, fp32 in 4. */
    static OptionalInt elementBytes(int onnxType) {
        if (onnxType == TensorProto.DataType.FLOAT.getNumber()) return OptionalInt.of(4);
        if (onnxType == TensorProto.DataType.FLOAT16.getNumber() || onnxType == TensorProto.DataType.BFLOAT16.getNumber()) return OptionalInt.of(2);
        return OptionalInt.empty();
    }
}
