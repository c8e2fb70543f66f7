package dev.membrane.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEncoderModel;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.reference.ReferencePreset;
import dev.membrane.tokenizer.ClipTokenizer;
import dev.membrane.spm.PreparedUNets;
import dev.membrane.training.Conditioning;
import dev.membrane.training.ServedUNet;
import dev.membrane.training.TrainingRun;
import dev.membrane.training.TrainingSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code spm train}: an SPM trained with Latent Anchoring on the served model (the official recipe). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train an SPM with Latent Anchoring (official recipe) on a model folder's UNet.")
public class SpmTrainCommand implements Callable<Integer> {
    @Inject
    MembraneConfig config;

    @Option(names = "--model", required = true, description = "Model folder (diffusers/optimum ONNX layout).")
    Path model;

    @Option(names = "--concept", required = true, description = "Concept to erase; repeatable (one is drawn per iteration).")
    List<String> concepts = new ArrayList<>();

    @Option(names = "--surrogate", defaultValue = "", description = "Neutral prompt the concept is pushed towards. Default: \"\".")
    String surrogate;

    @Option(names = "--iterations", defaultValue = "3000", description = "Default: ${DEFAULT-VALUE}.")
    int iterations;

    @Option(names = "--seed", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--rank", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}.")
    int rank;

    @Option(names = "--alpha", defaultValue = "1", description = "Scale alpha/rank; 0 means alpha = rank. Default: ${DEFAULT-VALUE}.")
    float alpha;

    @Option(names = "--lr", defaultValue = "1e-4", description = "AdamW learning rate. Default: ${DEFAULT-VALUE}.")
    double lr;

    @Option(names = "--warmup", defaultValue = "500", description = "Warm-up iterations of the cosine-with-restarts schedule. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--cycles", defaultValue = "3", description = "Hard restarts of the schedule. Default: ${DEFAULT-VALUE}.")
    int cycles;

    @Option(names = "--anchor-strength", defaultValue = "1000", description = "λ, weight of the anchoring loss. Default: ${DEFAULT-VALUE}.")
    double anchorStrength;

    @Option(names = "--erase-guidance", defaultValue = "1",
            description = "η of the erase target ε_surrogate − η·(ε_concept − ε_surrogate) (the official config's guidance_scale). Default: ${DEFAULT-VALUE}.")
    double eraseGuidance;

    @Option(names = "--anchors", defaultValue = "4", description = "Anchor embeddings per iteration. Default: ${DEFAULT-VALUE}.")
    int anchors;

    @Option(names = "--max-denoising-steps", defaultValue = "30", description = "DDIM steps of the sampling schedule. Default: ${DEFAULT-VALUE}.")
    int maxDenoisingSteps;

    @Option(names = "--resolution", description = "Image side in pixels (default: the reference preset's size, else 512).")
    Integer resolution;

    @Option(names = "--check-prompt", description = "Unrelated prompt for the held-out check; repeatable (default: four built-in prompts).")
    List<String> checkPrompts = new ArrayList<>();

    @Option(names = "--anchor-prompt",
            description = "A real prompt to anchor besides the random anchors; repeatable (not in the official recipe; must not be a --check-prompt).")
    List<String> anchorPrompts = new ArrayList<>();

    @Option(names = "--device", defaultValue = "cpu", description = "cpu or cuda[:N]. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--sample-with", defaultValue = "onnx",
            description = "Engine of the no-grad sampling trajectory: onnx (the served prepared UNet, faster) or twin. Default: ${DEFAULT-VALUE}.")
    String sampleWith;

    @Option(names = "--micro-batch", defaultValue = "0",
            description = "Rows (target, anchors) per backward pass; gradients are summed, so only memory changes. 0: all at once. Default: ${DEFAULT-VALUE}.")
    int microBatch;

    @Option(names = "--checkpoint-every", defaultValue = "500", description = "Iterations between checkpoints. Default: ${DEFAULT-VALUE}.")
    int checkpointEvery;

    @Option(names = "--resume", description = "A checkpoint (FILE.checkpoint.safetensors) to continue; its recipe is used.")
    Path resume;

    @Option(names = "--out", required = true, description = "The .safetensors file to write (the official format).")
    Path out;

    @Override
    public Integer call() {
        if (checkpointEvery < 1) throw new MembraneException("--checkpoint-every must be at least 1, got " + checkpointEvery);
        ModelFolder folder = ModelFolder.open(model);
        int side = resolution != null ? resolution : ReferencePreset.defaultSide(folder, 512);
        TrainingSpec spec = TrainingSpec.builder(concepts, side).surrogate(surrogate).iterations(iterations).seed(seed)
                .rank(rank, alpha).schedule(lr, warmup, cycles).anchoring(anchorStrength, anchors)
                .eraseGuidance(eraseGuidance)
                .maxDenoisingSteps(maxDenoisingSteps).checkPrompts(checkPrompts).anchorPrompts(anchorPrompts).build();
        Engine engine = dev.membrane.training.TorchEngine.start(config.dataDir().resolve("djl-cache"));
        Device target = dev.membrane.training.TorchEngine.device(engine, device);
        OrtRuntime runtime = OrtRuntime.create(config.runtimeConfig());
        TrainingRun run = TrainingRun.prepare(folder, spec, resume);
        Conditioning conditioning;
        try (TextEncoderModel text = new TextEncoderModel(runtime.open(folder.textEncoder(), "text encoder"))) {
            conditioning = Conditioning.encode(new PromptEncoder(ClipTokenizer.load(folder.tokenizer()), text), run.spec());
        }
        ServedUNet served = switch (sampleWith) {
            case "onnx" -> new ServedUNet(runtime, PreparedUNets.ensure(folder, run.spec().rank()));
            case "twin" -> null;
            default -> throw new MembraneException("--sample-with must be onnx or twin, got " + sampleWith);
        };
        ObjectNode summary;
        try (NDManager manager = NDManager.newBaseManager(target, engine.getEngineName())) {
            summary = run.execute(manager, engine, SchedulerConfig.load(folder.schedulerConfig()), conditioning, served, out, checkpointEvery, microBatch,
                    target.toString());
        }
        System.out.println(Json.line(summary));
        return summary.path("interrupted").asBoolean() ? 130 : 0;
    }
}
