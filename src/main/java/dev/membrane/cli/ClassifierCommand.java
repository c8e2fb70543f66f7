package dev.membrane.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.safety.ClassifierCard;
import dev.membrane.safety.tfjs.NsfwjsImport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code classifier …}: output classifier folders. */
@Command(name = "classifier", description = "Import output classifiers.", mixinStandardHelpOptions = true,
        subcommands = {ClassifierCommand.Import.class})
public class ClassifierCommand {

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
            ObjectNode line = Json.object();
            line.put("out", out.toString());
            line.set("card", Json.MAPPER.valueToTree(card));
            System.out.println(Json.line(line));
            return 0;
        }
    }
}
