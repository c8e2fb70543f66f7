package dev.membrane.cli;

import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.logging.Logger;

import com.fasterxml.jackson.databind.SerializationFeature;

import dev.membrane.MembraneException;
import dev.membrane.bench.BenchSuite;
import dev.membrane.bench.MemoryEstimateCheck;
import dev.membrane.bench.ContinuousBatchingLoad;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.PreparedUNets;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferencePreset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench [--model DIR] [--quick] [--out FILE.json]}: adapter overhead, mixed vs uniform batches, merge
 * switching vs slots, gateway vs bare, and achieved GFLOP/s against a matmul peak, all in one run. Prints a
 * Markdown table on stdout and writes the JSON. {@code bench --memory}: the memory estimate against measured RSS.
 * {@code bench --load}: continuous against static batching under Poisson load instead ({@link ContinuousBatchingLoad}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure SPM slots, mixed batches, merge switching and the gateway side by side; print a table, write JSON.")
public class BenchCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(BenchCommand.class.getName());

    @Inject
    MembraneConfig config;

    @Option(names = "--model", description = "Model folder (default: the sd15 reference preset under membrane.data-dir, built if absent; tiny with --quick).")
    Path model;

    @Option(names = "--quick", description = "The tiny preset at 64x64 and fewer repetitions (about 2 minutes on 2 cores).")
    boolean quick;

    @Option(names = "--image-size", description = "Image side in pixels (default 256, or 64 with --quick).")
    Integer imageSize;

    @Option(names = "--memory", description = "Instead: the memory estimate against the measured peak RSS of one generation per size, "
            + "each in a fresh JVM (tiny, and sd15 unless --quick); the Markdown table also goes to FILE.md.")
    boolean memory;

    @Option(names = "--memory-max-mb", defaultValue = "12288", description = "With --memory: skip sizes whose estimate passes this. Default: ${DEFAULT-VALUE}.")
    long memoryMaxMb;

    @Option(names = "--classifier", description = "An output classifier folder whose per-image cost to measure too, at batch 1 and 8 (repeatable).")
    List<Path> classifiers = new java.util.ArrayList<>();

    @Option(names = "--out", defaultValue = "bench-results.json", description = "JSON results file. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--load", description = "Instead of the suite: continuous vs static batching under Poisson load "
            + "(p50/p99 latency, throughput at 50% and 80% of static capacity); writes --load-out and its .md beside it.")
    boolean load;

    @Option(names = "--load-out", defaultValue = "bench-load.json", description = "JSON results of --load. Default: ${DEFAULT-VALUE}.")
    Path loadOut;

    @Option(names = "--load-requests", description = "With --load: requests per load run (the capacity burst takes 3/5 of it).")
    Integer loadRequests;

    @Option(names = "--load-steps", split = ",", description = "With --load: step counts requests draw from (default 10,20,30; 4,8,12 on sd15).")
    int[] loadSteps;

    @Override
    public Integer call() throws Exception {
        if (memory) return memoryCheck();
        ReferencePreset preset = quick ? ReferencePreset.TINY : ReferencePreset.SD15;
        Path dir = model != null ? model : config.dataDir().resolve("models/" + preset.id());
        if (model == null && !Files.exists(dir.resolve("model_index.json"))) {
            LOG.info("building the " + preset.id() + " reference model into " + dir);
            ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(preset), LOG::info);
        }
        ModelFolder folder = ModelFolder.open(dir);
        if (load) return runLoad(folder, quick);
        BenchSuite.Plan plan = quick ? BenchSuite.Plan.quick() : BenchSuite.Plan.full();
        if (imageSize != null) {
            plan = new BenchSuite.Plan(imageSize, plan.reps(), plan.warmup(), plan.mixedBatch(), plan.mergeReps(), plan.requests(),
                    plan.loneRequests(), plan.steps(), plan.batchWaitMs(), plan.matmulSide());
        }
        ReferencePreset flopsPreset = referencePreset(folder);
        Path work = Files.createTempDirectory("membrane-bench-");
        OrtRuntime runtime = OrtRuntime.create(config.runtimeConfig());
        BenchSuite.Report report = BenchSuite.run(runtime, folder, flopsPreset, plan, work, classifiers, LOG::info);
        try {
            Files.writeString(out, Json.MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report.json()) + "\n");
        } catch (IOException e) {
            throw new MembraneException(out + ": cannot write results (" + e.getMessage() + ")");
        }
        System.out.print(report.markdown());
        return 0;
    }

    /** {@code --memory}: the tiny preset and (without --quick) sd15, {@code --model} or built under data-dir; one step. */
    private int memoryCheck() throws Exception {
        Path tiny = referenceModel(ReferencePreset.TINY, null);
        Path sd15 = quick ? null : referenceModel(ReferencePreset.SD15, model);
        MemoryEstimateCheck.Report report = MemoryEstimateCheck.run(MemoryEstimateCheck.defaultCases(tiny, sd15),
                config.runtimeConfig(), 1, memoryMaxMb << 20, LOG::info);
        Files.writeString(out, Json.MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report.json()) + "\n");
        Files.writeString(out.resolveSibling(out.getFileName() + ".md"), report.markdown());
        System.out.print(report.markdown());
        return 0;
    }

    private Path referenceModel(ReferencePreset preset, Path given) {
        if (given != null) return given;
        Path dir = config.dataDir().resolve("models/" + preset.id());
        if (!Files.exists(dir.resolve("model_index.json"))) {
            LOG.info("building the " + preset.id() + " reference model into " + dir);
            ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(preset), LOG::info);
        }
        return dir;
    }

    private int runLoad(ModelFolder folder, boolean tiny) throws IOException {
        ContinuousBatchingLoad.Plan plan = tiny ? ContinuousBatchingLoad.Plan.tiny() : ContinuousBatchingLoad.Plan.sd15();
        if (imageSize != null) plan = plan.withImageSize(imageSize);
        if (loadRequests != null) plan = plan.withRequests(Math.max(1, loadRequests * 3 / 5), loadRequests);
        if (loadSteps != null) plan = plan.withSteps(loadSteps);
        OrtRuntime runtime = OrtRuntime.create(config.runtimeConfig());
        try (StableDiffusionPipeline sd = StableDiffusionPipeline.open(folder, PreparedUNets.ensure(folder, 8), runtime)) {
            ContinuousBatchingLoad.Report report = ContinuousBatchingLoad.run(new AdapterPipeline(sd), plan, LOG::info);
            Files.writeString(loadOut, Json.MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report.json()) + "\n");
            Files.writeString(loadOut.resolveSibling(loadOut.getFileName().toString().replaceFirst("\\.json$", "") + ".md"), report.markdown());
            System.out.print(report.markdown());
        }
        return 0;
    }

    /** FLOPs are counted for the reference presets' architecture; other models get none. */
    private static ReferencePreset referencePreset(ModelFolder folder) {
        return folder.referencePreset() == null ? null : ReferencePreset.parse(folder.referencePreset());
    }
}
