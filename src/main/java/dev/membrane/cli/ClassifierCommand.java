package dev.membrane.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.evaluation.classifier.ConceptOutputClassifier;
import dev.membrane.safety.ClassifierCard;
import dev.membrane.safety.tfjs.NsfwjsImport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code classifier …}: output classifier folders. */
@Command(name = "classifier", description = "Make output classifier folders.", mixinStandardHelpOptions = true,
        subcommands = {ClassifierCommand.Import.class, ClassifierCommand.Shapes.class})
public class ClassifierCommand {

    /** The result line of both subcommands: {@code {"out", "card"}}. */
    static int printCard(Path out, ClassifierCard card) {
        ObjectNode line = Json.object();
        line.put("out", out.toString());
        line.set("card", Json.MAPPER.valueToTree(card));
        System.out.println(Json.line(line));
        return 0;
    }

    /** {@code classifier import --from TGZ|DIR [--model M] --out DIR}: an nsfwjs model as an ONNX classifier folder. */
    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Convert an nsfwjs model (TF.js Layers, bundled in the npm package) to an ONNX classifier folder.")
    public static class Import implements Callable<Integer> {
        @Option(names = "--from", required = true, description = "The nsfwjs package: npm pack's nsfwjs-4.4.0.tgz or its unpacked folder.")
        Path from;

        @Option(names = "--model", defaultValue = "mobilenet_v2", description = "mobilenet_v2 or inception_v3. Default: ${DEFAULT-VALUE}.")
        String model;

        @Option(names = "--id", description = "The classifier's id for policies (default: nsfwjs-MODEL).")
        String id;

        @Option(names = "--out", required = true, description = "Folder for model.onnx and classifier.json.")
        Path out;

        @Override
        public Integer call() {
            ClassifierCard card = NsfwjsImport.run(from, model, id, out);
            return printCard(out, card);
        }
    }

    /** {@code classifier shapes [--from FILE] --out DIR}: the shapes concept classifier as an output classifier folder. */
    @Command(name = "shapes", mixinStandardHelpOptions = true,
            description = "Wrap the shapes world's concept classifier as an output classifier folder (id shapes-concepts, 17 labels).")
    public static class Shapes implements Callable<Integer> {
        @Option(names = "--from", defaultValue = "models/shapes/classifier.onnx", description = "The concept classifier. Default: ${DEFAULT-VALUE}.")
        Path from;

        @Option(names = "--out", required = true, description = "Folder for model.onnx and classifier.json.")
        Path out;

        @Override
        public Integer call() {
            ClassifierCard card = ConceptOutputClassifier.write(from, out);
            return printCard(out, card);
        }
    }
}
