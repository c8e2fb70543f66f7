package dev.membrane.cli;

import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.onnx.OrtRuntime;
import dev.membrane.safety.ImageClassifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code classify --classifier DIR IMAGE...}: one JSON line per image with its scores and top label. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Classify images with an output classifier folder: one JSON line per image (file, scores per label, top).")
public class ClassifyCommand implements Callable<Integer> {
    @Inject
    MembraneConfig config;

    @Option(names = "--classifier", required = true, description = "A classifier folder (model.onnx, classifier.json), e.g. from 'classifier import'.")
    Path classifier;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files (PNG, JPEG, BMP, GIF).")
    List<Path> images;

    @Override
    public Integer call() {
        try (ImageClassifier c = ImageClassifier.open(OrtRuntime.create(config.runtimeConfig()), classifier)) {
            List<BufferedImage> decoded = new ArrayList<>();
            for (Path p : images) decoded.add(ImageClassifier.readImage(p));
            List<ImageClassifier.Scores> scores = c.classify(decoded);
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < images.size(); i++) {
                ObjectNode line = Json.object();
                line.put("file", images.get(i).toString());
                ObjectNode s = line.putObject("scores");
                scores.get(i).byLabel().forEach(s::put);
                line.put("top", scores.get(i).top());
                out.append(Json.line(line)).append('\n');
            }
            System.out.print(out);
            System.out.flush();
        }
        return 0;
    }
}
