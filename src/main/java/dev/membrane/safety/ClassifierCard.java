package dev.membrane.safety;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.membrane.MembraneException;

/**
 * {@code classifier.json}: what an output classifier folder holds and how to feed it. The folder is
 * {@code model.onnx} (input {@code images [batch, height, width, 3]} channels last, output
 * {@code scores [batch, labels]}, probabilities) and this card.
 *
 * @param id          the name policies use for it ({@code outputCheck.classifier})
 * @param labels      the classes, in the order of the scores
 * @param input       its input size and preprocessing
 * @param model       the graph's file name in the folder
 * @param modelSha256 SHA-256 of the graph file: checked on every load, and the pin policies may give
 * @param source      where the weights came from
 */
public record ClassifierCard(String id, List<String> labels, Input input, String model, String modelSha256, Source source) {
    public static final String FILE = "classifier.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * @param height  pixels the graph expects
     * @param width   pixels the graph expects
     * @param scale   how 8-bit RGB becomes the input: {@code "rgb/255"} (values in [0, 1])
     * @param resize  how an image of another size is resampled: {@code "bilinear-align-corners"} (TF.js's
     *                {@code resizeBilinear(..., alignCorners=true)}, as nsfwjs calls it)
     */
    public record Input(int height, int width, String scale, String resize) {
    }

    /**
     * @param packageName the npm package
     * @param version     its version
     * @param model       the model inside it
     * @param kind        "tarball" or "folder"
     * @param sha256      SHA-256 of the tarball (for a folder: of the model's bundled files in order)
     * @param licence     the package's licence
     */
    public record Source(String packageName, String version, String model, String kind, String sha256, String licence) {
    }

    public static ClassifierCard read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) throw new MembraneException(dir + ": not a classifier folder (no " + FILE + ")");
        try {
            ClassifierCard card = JSON.readValue(file.toFile(), ClassifierCard.class);
            if (card.id() == null || card.id().isBlank()) throw new MembraneException(file + ": 'id' is required");
            if (card.labels() == null || card.labels().isEmpty()) throw new MembraneException(file + ": 'labels' is required");
            if (new java.util.HashSet<>(card.labels()).size() != card.labels().size() || card.labels().stream().anyMatch(l -> l.contains(","))) {
                throw new MembraneException(file + ": labels must be distinct and without commas: " + card.labels());
            }
            if (card.input() == null || card.input().height() <= 0 || card.input().width() <= 0) {
                throw new MembraneException(file + ": 'input' needs a height and a width");
            }
            if (!"rgb/255".equals(card.input().scale())) throw new MembraneException(file + ": input scale '" + card.input().scale() + "' is not supported (rgb/255)");
            if (!"bilinear-align-corners".equals(card.input().resize())) {
                throw new MembraneException(file + ": input resize '" + card.input().resize() + "' is not supported (bilinear-align-corners)");
            }
            if (card.model() == null || card.modelSha256() == null) throw new MembraneException(file + ": 'model' and 'modelSha256' are required");
            return card;
        } catch (IOException e) {
            throw new MembraneException(file + ": not a classifier card (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }

    public void write(Path dir) {
        try {
            Files.createDirectories(dir);
            JSON.writeValue(dir.resolve(FILE).toFile(), this);
        } catch (IOException e) {
            throw new MembraneException(dir.resolve(FILE) + ": cannot write (" + e.getMessage() + ")");
        }
    }
}
