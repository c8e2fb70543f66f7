package dev.membrane.safety.tfjs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import dev.membrane.Hashes;
import dev.membrane.MembraneException;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.safety.ClassifierCard;
import dev.membrane.safety.ImageClassifier;

/**
 * {@code classifier import}: an nsfwjs model, from the package tarball or folder, to a classifier folder
 * ({@code model.onnx} and {@code classifier.json}), labelled with the package's own {@code NSFW_CLASSES}.
 */
public final class NsfwjsImport {
    private NsfwjsImport() {
    }

    /** The folder's card once written. */
    public static ClassifierCard run(Path source, String modelName, String id, Path out) {
        long t0 = System.nanoTime();
        BundledModel bundled = BundledModel.read(source, modelName);
        List<String> labels = bundled.labels();
        System.err.printf("read %s %s model %s: %d weight bytes, %d labels (%.1f s)%n", bundled.packageName(), bundled.packageVersion(),
                bundled.name(), bundled.weightData().length, labels.size(), (System.nanoTime() - t0) / 1e9);
        LayersConverter.Converted converted = LayersConverter.convert(bundled.modelJson(), bundled.weightData(), source + " " + bundled.name());
        if (converted.classes() != labels.size()) {
            throw new MembraneException(source + ": the model has " + converted.classes() + " outputs and the package " + labels.size() + " classes");
        }
        if (converted.channels() != 3) throw new MembraneException(source + ": the model takes " + converted.channels() + " channels, not RGB");
        String sha;
        try {
            Files.createDirectories(out);
            Path model = out.resolve("model.onnx");
            Path tmp = out.resolve("model.onnx.tmp");
            GraphBuilder.write(converted.model().toBuilder().addMetadataProps(ImageClassifier.labelsEntry(labels)).build(), tmp);
            Files.move(tmp, model, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            sha = Hashes.sha256(model);
        } catch (IOException e) {
            throw new MembraneException(out + ": cannot write the classifier (" + e.getMessage() + ")");
        }
        ClassifierCard card = new ClassifierCard(id == null ? "nsfwjs-" + bundled.name() : id, labels,
                new ClassifierCard.Input(converted.height(), converted.width(), "rgb/255", "bilinear-align-corners"), "model.onnx", sha,
                new ClassifierCard.Source(bundled.packageName(), bundled.packageVersion(), bundled.name(), bundled.sourceKind(),
                        bundled.sourceSha256(), "MIT"));
        card.write(out);
        System.err.printf("wrote %s (%dx%d input, %s) in %.1f s%n", out, converted.width(), converted.height(), String.join(", ", labels),
                (System.nanoTime() - t0) / 1e9);
        return card;
    }
}
