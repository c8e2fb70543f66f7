package dev.membrane.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.logging.Logger;
import java.util.stream.Stream;

import ai.djl.engine.Engine;
import jakarta.inject.Inject;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.training.Progress;
import dev.membrane.evaluation.classifier.ClassifierTrainer;
import dev.membrane.evaluation.classifier.ClassifierTrainingRun;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.training.TorchEngine;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.spm.SlotLayout;
import dev.membrane.spm.UNetPreparer;
import dev.membrane.onnx.reference.ReferencePreset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code model …}: model folders. */
@Command(name = "model", description = "Build and prepare model folders.", mixinStandardHelpOptions = true,
        subcommands = {ModelCommand.Reference.class, ModelCommand.Prepare.class, TrainShapesCommand.class,
                ModelCommand.TrainClassifier.class})
public class ModelCommand {

    /**
     * {@code model train-classifier --out FILE.onnx [--seed N] [--steps N]}: the shapes world's concept classifier,
     * trained on freshly rendered images, with its held-out report in FILE.json.
     */
    @Command(name = "train-classifier", mixinStandardHelpOptions = true,
            description = "Train the shapes-world concept classifier (shape, colour, background, style) on rendered images and export it to ONNX.")
    static class TrainClassifier implements Callable<Integer> {
        @Inject
        MembraneConfig config;

        @Option(names = "--out", required = true, description = "The .onnx file to write (the report goes beside it as .json).")
        Path out;

        @Option(names = "--seed", defaultValue = "0", description = "Initialisation and every training batch. Default: ${DEFAULT-VALUE}.")
        long seed;

        @Option(names = "--steps", defaultValue = "" + ClassifierTrainer.Options.DEFAULT_STEPS,
                description = "Optimizer steps (" + ClassifierTrainer.Options.DEFAULT_BATCH + " images each). Default: ${DEFAULT-VALUE}.")
        int steps;

        @Option(names = "--crisp", description = "Train on crisp renders only, without the decoder-like degradations (blur, halo, contrast, noise) on 4 images in 5.")
        boolean crisp;

        @Override
        public Integer call() {
            Engine engine = TorchEngine.start(config.dataDir().resolve("djl-cache"));
            OrtRuntime runtime = OrtRuntime.create(config.runtimeConfig());
            ObjectNode report = ClassifierTrainingRun.run(engine, runtime, ClassifierTrainer.Options.of(seed, steps, !crisp), out,
                    Progress.stderr("train-classifier"));
            System.out.println(Json.line(report));
            return 0;
        }
    }

    /** {@code model prepare --model DIR [--slots K]}: writes {@code unet/model.spm.onnx} beside the UNet. */
    @Command(name = "prepare", mixinStandardHelpOptions = true,
            description = "Rewrite the UNet so every SPM site takes per-request adapter weights (unet/" + UNetPreparer.PREPARED_FILE + ").")
    static class Prepare implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "Model folder.")
        Path model;

        @Option(names = "--slots", defaultValue = "8", description = "Rank-1 adapter slots per sample (a rank-r adapter takes r). Default: ${DEFAULT-VALUE}.")
        int slots;

        @Override
        public Integer call() {
            ModelFolder folder = ModelFolder.open(model);
            Path out = folder.unet().resolveSibling(UNetPreparer.PREPARED_FILE);
            long start = System.nanoTime();
            SlotLayout layout = UNetPreparer.prepare(folder.unet(), slots, out);
            ObjectNode summary = Json.object();
            summary.put("prepared", out.toString());
            summary.put("slots", layout.slots());
            summary.put("sites", layout.sites().size());
            summary.put("elementType", layout.elementType());
            summary.put("prepareMs", Json.round3((System.nanoTime() - start) / 1e6));
            System.out.println(Json.line(summary));
            return 0;
        }
    }

    /** {@code model reference --out DIR [--preset tiny|sd15] [--tokenizer DIR] [--unet-weights auto|inline|external]}. */
    @Command(name = "reference", mixinStandardHelpOptions = true,
            description = "Write a reference SD 1.x model (exact UNet topology, deterministic weights) in the diffusers ONNX layout.")
    static class Reference implements Callable<Integer> {
        private static final Logger LOG = Logger.getLogger(Reference.class.getName());

        @Option(names = "--out", required = true, description = "Folder to write.")
        Path out;

        @Option(names = "--preset", defaultValue = "tiny", description = "tiny (tests, demo) or sd15 (real SD 1.5 widths, ~3.4 GB). Default: ${DEFAULT-VALUE}.")
        String preset;

        @Option(names = "--tokenizer", description = "A real CLIP tokenizer folder to use instead of the generated vocabulary.")
        Path tokenizer;

        @Option(names = "--unet-weights", defaultValue = "auto", description = "auto, inline or external (unet/weights.pb). Default: ${DEFAULT-VALUE}.")
        String unetWeights;

        @Override
        public Integer call() {
            ReferencePreset p = ReferencePreset.parse(preset);
            ReferenceModelBuilder.UNetWeights weights = ReferenceModelBuilder.UNetWeights.valueOf(unetWeights.toUpperCase(java.util.Locale.ROOT));
            long start = System.nanoTime();
            ReferenceModelBuilder.build(out, ReferenceModelBuilder.Options.of(p).withTokenizer(tokenizer).withUNetWeights(weights),
                    LOG::info);
            ObjectNode summary = Json.object();
            summary.put("out", out.toAbsolutePath().toString());
            summary.put("preset", p.id());
            summary.put("bytes", folderBytes(out));
            summary.put("buildMs", Json.round3((System.nanoTime() - start) / 1e6));
            System.out.println(Json.line(summary));
            return 0;
        }

        private static long folderBytes(Path dir) {
            try (Stream<Path> files = Files.walk(dir)) {
                return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
