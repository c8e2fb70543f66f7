package dev.membrane.cli;

import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.GenerationResult;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.onnx.DeviceChoice;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.onnx.reference.ReferencePreset;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.PreparedUNets;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.transport.Transport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code generate --model DIR --prompt TEXT … --out FILE.png}: writes the PNG(s) and prints one JSON summary.
 * Several {@code --prompt}s share each UNet call; image i uses seed + i and is written to FILE-i.png.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate images with a model folder.")
public class GenerateCommand implements Callable<Integer> {
    @Inject
    MembraneConfig config;

    @Option(names = "--model", required = true, description = "Model folder (diffusers ONNX layout).")
    Path model;

    @Option(names = "--prompt", required = true, description = "Prompt; repeat for several images in one batch.")
    List<String> prompts;

    @Option(names = "--negative", defaultValue = "", description = "Negative prompt (all images).")
    String negative;

    @Option(names = "--seed", description = "Seed of the first image (default: random, reported).")
    Long seed;

    @Option(names = "--steps", defaultValue = "50", description = "Inference steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5", description = "Classifier-free guidance scale. Default: ${DEFAULT-VALUE}.")
    double guidance;

    @Option(names = "--width", description = "Width in pixels, a multiple of 8 (default: 512, or the reference preset's size).")
    Integer width;

    @Option(names = "--height", description = "Height in pixels, a multiple of 8 (default: as width).")
    Integer height;

    @Option(names = "--scheduler", description = "pndm, ddim or euler (default: the model's scheduler_config.json).")
    String scheduler;

    @Option(names = "--device", description = "auto, cpu or cuda (default: membrane.device).")
    String device;

    @Option(names = "--out", required = true, description = "PNG file to write.")
    Path out;

    @Option(names = "--spm", paramLabel = "FILE[:WEIGHT]",
            description = "An SPM adapter to apply; repeatable. WEIGHT is the fixed γ under --transport fixed, and multiplies --transport-factor under facilitated (default 1).")
    List<String> spms = new ArrayList<>();

    @Option(names = "--transport", defaultValue = "facilitated", description = "facilitated or fixed. Default: ${DEFAULT-VALUE}.")
    String transport;

    @Option(names = "--transport-factor", defaultValue = "1.0", description = "Facilitated Transport's factor. Default: ${DEFAULT-VALUE}.")
    double transportFactor;

    @Option(names = "--stacking", defaultValue = "linear", description = "linear (the paper's sum) or official. Default: ${DEFAULT-VALUE}.")
    String stacking;

    @Option(names = "--slots", defaultValue = "8", description = "Slots when the UNet must be prepared first. Default: ${DEFAULT-VALUE}.")
    int slots;

    @Override
    public Integer call() {
        RuntimeConfig rc = config.runtimeConfig();
        if (device != null) rc = rc.withDevice(DeviceChoice.parse(device));
        ModelFolder folder = ModelFolder.open(model);
        int w = width != null ? width : defaultSize(folder);
        int h = height != null ? height : w;
        long firstSeed = seed != null ? seed : new SecureRandom().nextLong() & Long.MAX_VALUE;
        SchedulerKind kind = scheduler != null ? SchedulerKind.parse(scheduler)
                : SchedulerKind.ofConfig(SchedulerConfig.load(folder.schedulerConfig()));
        List<ImageSpec> images = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) images.add(new ImageSpec(prompts.get(i), negative, firstSeed + i));
        GenerationRequest request = new GenerationRequest(images, w, h, steps, guidance, kind);
        OrtRuntime runtime = OrtRuntime.create(rc);
        if (spms.isEmpty()) {
            try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(folder, folder.unet(), runtime)) {
                GenerationResult result = pipeline.generate(request);
                System.out.println(Json.line(summary(request, result, writeImages(result), pipeline)));
            }
            return 0;
        }
        StackingMode mode = StackingMode.parse(stacking);
        Transport.Kind transportKind = Transport.parseKind(transport);
        List<AdapterPipeline.AdapterRequest> adapters = new ArrayList<>();
        for (String spec : spms) adapters.add(adapterRequest(spec, transportKind));
        int needed = mode.slotsNeeded(adapters.stream().map(a -> a.file().rank()).toList());
        Path prepared = PreparedUNets.ensure(folder, Math.max(slots, needed));
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(folder, prepared, runtime)) {
            AdapterPipeline ap = new AdapterPipeline(pipeline);
            List<AdapterPipeline.ImageStack> stacks = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) stacks.add(new AdapterPipeline.ImageStack(adapters, mode));
            AdapterPipeline.Result result = ap.generate(request, stacks);
            ObjectNode summary = summary(request, result.generation(), writeImages(result.generation()), pipeline);
            summary.put("stacking", mode.id());
            summary.put("gammaPower", mode.gammaPower());
            summary.put("transport", transportKind.name().toLowerCase(java.util.Locale.ROOT));
            ArrayNode list = summary.putArray("adapters");
            for (int i = 0; i < result.applied().size(); i++) {
                for (int a = 0; a < result.applied().get(i).size(); a++) {
                    AdapterPipeline.Applied applied = result.applied().get(i).get(a);
                    ObjectNode n = list.addObject();
                    n.put("image", i);
                    n.put("file", adapters.get(a).source().toString());
                    n.put("sha256", applied.file().sha256());
                    n.put("prompts", String.join(", ", applied.file().prompts()));
                    putScore(n, "sf", applied.score().sf());
                    putScore(n, "st", applied.score().st());
                    n.put("gamma", applied.score().gamma());
                }
            }
            System.out.println(Json.line(summary));
        }
        return 0;
    }

    private static void putScore(ObjectNode n, String name, double v) {
        if (Double.isNaN(v)) n.putNull(name);
        else n.put(name, v);
    }

    /** {@code FILE[:WEIGHT]}: a trailing {@code :number} is the weight. */
    private AdapterPipeline.AdapterRequest adapterRequest(String spec, Transport.Kind kind) {
        Path file = Path.of(spec);
        double weight = 1.0;
        int colon = spec.lastIndexOf(':');
        if (colon > 0) {
            try {
                weight = Double.parseDouble(spec.substring(colon + 1));
                file = Path.of(spec.substring(0, colon));
            } catch (NumberFormatException e) {
                // a colon that is part of the path
            }
        }
        SpmFile spm = SpmFile.read(file);
        return new AdapterPipeline.AdapterRequest(spm, Transport.weighted(kind, weight, transportFactor), file);
    }

    /** The side the model was trained at, else its reference preset's, else SD 1.x's 512. */
    static int defaultSize(ModelFolder folder) {
        return ReferencePreset.defaultSide(folder, 512);
    }

    private List<Path> writeImages(GenerationResult result) {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < result.images().size(); i++) {
            Path file = result.images().size() == 1 ? out : indexed(out, i);
            try {
                Path parent = file.toAbsolutePath().getParent();
                if (parent != null) Files.createDirectories(parent);
                Files.write(file, result.images().get(i).png());
            } catch (IOException e) {
                throw new MembraneException(file + ": cannot write image (" + e.getMessage() + ")");
            }
            files.add(file);
        }
        return files;
    }

    private static Path indexed(Path file, int i) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String indexedName = dot < 0 ? name + "-" + i : name.substring(0, dot) + "-" + i + name.substring(dot);
        return file.resolveSibling(indexedName);
    }

    static ObjectNode summary(GenerationRequest request, GenerationResult result, List<Path> files, StableDiffusionPipeline pipeline) {
        ObjectNode s = Json.object();
        ArrayNode images = s.putArray("images");
        for (int i = 0; i < files.size(); i++) {
            GenerationResult.GeneratedImage img = result.images().get(i);
            ObjectNode n = images.addObject();
            n.put("file", files.get(i).toString());
            n.put("sha256", sha256(img.png()));
            n.put("prompt", img.spec().prompt());
            n.put("seed", img.spec().seed());
        }
        s.put("seed", request.images().get(0).seed());
        s.put("width", request.width());
        s.put("height", request.height());
        s.put("steps", request.steps());
        s.put("guidance", request.guidanceScale());
        s.put("scheduler", request.scheduler().id());
        s.put("device", pipeline.target().device());
        s.put("executionProvider", pipeline.target().provider());
        if (pipeline.target().fallbackReason() != null) s.put("deviceFallback", pipeline.target().fallbackReason());
        GenerationResult.StageTimings t = result.timings();
        ObjectNode timings = s.putObject("timingsMs");
        timings.put("tokenize", Json.round3(t.tokenizeMs()));
        timings.put("textEncoder", Json.round3(t.textEncodeMs()));
        timings.put("denoise", Json.round3(t.denoiseMs()));
        timings.put("unetCalls", t.unetCallMs().size());
        timings.put("unetCallMedian", Json.round3(t.medianUNetCallMs()));
        timings.put("vaeDecoder", Json.round3(t.decodeMs()));
        timings.put("png", Json.round3(t.pngMs()));
        timings.put("total", Json.round3(t.totalMs()));
        return s;
    }

    static String sha256(byte[] data) {
        return dev.membrane.Hashes.sha256(data);
    }
}
