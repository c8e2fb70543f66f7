package dev.membrane.cli;

import ai.djl.engine.Engine;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.training.TorchEngine;
import dev.membrane.training.shapes.ShapesModelTrainer;
import dev.membrane.training.shapes.ShapesRecipe;
import dev.membrane.world.Palette;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code model train-shapes --out DIR [--seed N] …}: trains the shapes model (see {@link ShapesModelTrainer}). */
@Command(name = "train-shapes", mixinStandardHelpOptions = true,
        description = "Train a small SD 1.x-topology text-to-image model on the procedural shapes world (DJL, CPU), exported in the diffusers ONNX layout.")
class TrainShapesCommand implements Callable<Integer> {
    @Inject
    MembraneConfig config;

    @Option(names = "--out", required = true, description = "Model folder to write.")
    Path out;

    @Option(names = "--seed", defaultValue = "7", description = "The run's seed (every stage derives from it). Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--tokenizer", description = "A CLIP tokenizer folder to use instead of the vocabulary generated from the captions.")
    Path tokenizer;

    @Option(names = "--init", description = "A trained shapes model to fine-tune (its VAE and text encoder are kept).")
    Path init;

    @Option(names = "--palette", defaultValue = "classic", description = "classic or deep (the shifted world of the transfer check). Default: ${DEFAULT-VALUE}.")
    String palette;

    @Option(names = "--vae-steps", description = "Autoencoder steps (default: the standard recipe's; 0 with --init).")
    Integer vaeSteps;

    @Option(names = "--unet-steps", description = "UNet steps (default: the standard recipe's).")
    Integer unetSteps;

    @Option(names = "--decoder-steps", description = "Decoder-only refinement steps after the UNet (default: the standard recipe's; 0 with --init).")
    Integer decoderSteps;

    @Option(names = "--unet-round2-steps", description = "Steps of a second UNet round from the first round's average, with a fresh warm-up, cosine, optimizer state and average (default: the standard recipe's; 0 with --init).")
    Integer unetRound2Steps;

    @Option(names = "--unet-lr", description = "UNet peak learning rate (default: the standard recipe's).")
    Float unetLr;

    @Option(names = "--dataset-size", description = "Captioned images encoded for the UNet (default: the recipe's).")
    Integer datasetSize;

    @Option(names = "--vae-batch", description = "Images per autoencoder step (default: the recipe's).")
    Integer vaeBatch;

    @Option(names = "--unet-batch", description = "Latents per UNet step (default: the recipe's).")
    Integer unetBatch;

    @Option(names = "--image-size", description = "Image side in pixels, a multiple of 64 up to 512 (latents are an eighth; default: the --init model's, else the standard recipe's).")
    Integer imageSize;

    @Option(names = "--combine", description = "Instead of training: fold a later stage run (trained with --init OUT) back into --out.")
    Path combine;

    @Option(names = "--smoke", description = "A few steps of each stage on a tiny subset (tests, CI).")
    boolean smoke;

    @Override
    public Integer call() {
        if (combine != null) {
            System.out.println(Json.line(summary(ShapesModelTrainer.combine(out, combine))));
            return 0;
        }
        ShapesRecipe base = smoke ? ShapesRecipe.smoke(seed) : ShapesRecipe.standard(seed);
        int unet = unetSteps != null ? unetSteps : base.unetSteps();
        ShapesRecipe recipe = base.withPalette(Palette.parse(palette))
                .withSteps(stageSteps(vaeSteps, base.vaeSteps()), unet)
                .withDecoderSteps(stageSteps(decoderSteps, base.decoderSteps()))
                .withUNetRound2Steps(stageSteps(unetRound2Steps, base.unetRound2Steps()));
        if (unetLr != null) recipe = recipe.withUNetLearningRate(unetLr);
        // a fine-tune keeps the side its initial model learned unless told otherwise
        Integer side = imageSize != null ? imageSize : init != null ? ModelFolder.open(init).imageSize() : null;
        if (side != null) recipe = recipe.withImageSize(side);
        recipe = recipe.withSizes(datasetSize != null ? datasetSize : recipe.datasetSize(),
                vaeBatch != null ? vaeBatch : recipe.vaeBatch(), unetBatch != null ? unetBatch : recipe.unetBatch());
        Engine engine = TorchEngine.start(config.dataDir().resolve("djl-cache"));
        OrtRuntime runtime = OrtRuntime.create(config.runtimeConfig());
        ShapesModelTrainer.Report report = ShapesModelTrainer.train(out, recipe, tokenizer, init, runtime, engine, System.err);
        System.out.println(Json.line(summary(report)));
        return 0;
    }

    /**
     * Steps of a stage besides the UNet's first round: the flag, else none for a fine-tune (it keeps its initial
     * model's VAE and decoder, and is one UNet round), else the recipe's.
     */
    private int stageSteps(Integer flag, int recipeSteps) {
        return flag != null ? flag : init != null ? 0 : recipeSteps;
    }

    private ObjectNode summary(ShapesModelTrainer.Report report) {
        ObjectNode summary = Json.object();
        summary.put("out", out.toAbsolutePath().toString());
        summary.put("seed", report.seed());
        summary.set("stageSeconds", Json.MAPPER.valueToTree(report.stageSeconds()));
        summary.set("finalLoss", Json.MAPPER.valueToTree(report.finalLoss()));
        summary.set("sha256", Json.MAPPER.valueToTree(report.sha256()));
        return summary;
    }
}
