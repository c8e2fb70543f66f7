package dev.membrane.cli;

import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.evaluation.EvaluationReport;
import dev.membrane.evaluation.EvaluationSpec;
import dev.membrane.evaluation.Evaluator;
import dev.membrane.training.Progress;
import dev.membrane.evaluation.ReportFiles;
import dev.membrane.onnx.DeviceChoice;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.transport.Transport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code evaluate --model DIR [--spm FILE[:W]]... --out DIR}: erasure and preservation of an SPM stack, or without
 * {@code --spm} the model's fidelity, measured by the shapes classifier (see {@link Evaluator}). Writes report.md,
 * report.json, grid.png and bars.png; progress on stderr, the report as one JSON line on stdout.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Measure concept erasure of SPM adapters (or, without --spm, fidelity) on the shapes world with the concept classifier.")
public class EvaluateCommand implements Callable<Integer> {
    @Inject
    MembraneConfig config;

    @Option(names = "--model", required = true, description = "Model folder (diffusers ONNX layout).")
    Path model;

    @Option(names = "--spm", paramLabel = "FILE[:WEIGHT]",
            description = "An SPM adapter of the stack; repeatable. WEIGHT is the fixed γ under --transport fixed, and multiplies --transport-factor under facilitated (default 1). None: fidelity.")
    List<String> spms = new ArrayList<>();

    @Option(names = "--transport", defaultValue = "facilitated", description = "facilitated or fixed. Default: ${DEFAULT-VALUE}.")
    String transport;

    @Option(names = "--transport-factor", defaultValue = "1.0", description = "Facilitated Transport's factor. Default: ${DEFAULT-VALUE}.")
    double transportFactor;

    @Option(names = "--stacking", defaultValue = "linear", description = "linear or official. Default: ${DEFAULT-VALUE}.")
    String stacking;

    @Option(names = "--seeds", defaultValue = "8", description = "Seeds per prompt. Default: ${DEFAULT-VALUE}.")
    int seeds;

    @Option(names = "--seed", defaultValue = "0", description = "First seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--steps", defaultValue = "30", description = "Inference steps. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--scheduler", description = "pndm, ddim or euler (default: the model's scheduler_config.json).")
    String scheduler;

    @Option(names = "--guidance", defaultValue = "7.5", description = "Classifier-free guidance scale. Default: ${DEFAULT-VALUE}.")
    double guidance;

    @Option(names = "--batch", defaultValue = "8", description = "Images per UNet call. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--size", defaultValue = "0", description = "Image side (default: the reference preset's, else 64).")
    int size;

    @Option(names = "--classifier", defaultValue = "models/shapes/classifier.onnx", description = "Shapes classifier. Default: ${DEFAULT-VALUE}.")
    Path classifier;

    @Option(names = "--slots", defaultValue = "8", description = "Slots when the UNet must be prepared first. Default: ${DEFAULT-VALUE}.")
    int slots;

    @Option(names = "--device", description = "auto, cpu or cuda (default: membrane.device).")
    String device;

    @Option(names = "--out", required = true, description = "Folder for report.md, report.json, grid.png, bars.png.")
    Path out;

    @Override
    public Integer call() {
        RuntimeConfig rc = config.runtimeConfig();
        if (device != null) rc = rc.withDevice(DeviceChoice.parse(device));
        List<EvaluationSpec.AdapterSpec> adapters = spms.stream().map(EvaluationSpec.AdapterSpec::parse).toList();
        EvaluationSpec spec = EvaluationSpec.of(model, classifier)
                .withAdapters(adapters, Transport.parseKind(transport), StackingMode.parse(stacking))
                .withTransportFactor(transportFactor)
                .withScheduler(scheduler == null ? null : SchedulerKind.parse(scheduler))
                .withSampling(seeds, seed, steps, guidance)
                .withBatch(batch)
                .withSize(size, slots);
        EvaluationReport report = Evaluator.run(spec, OrtRuntime.create(rc), Progress.stderr("evaluate"));
        List<Path> files = ReportFiles.write(report, out);
        ObjectNode summary = report.json();
        summary.put("out", out.toString());
        ArrayNode list = summary.putArray("files");
        files.forEach(f -> list.add(f.toString()));
        System.out.println(Json.line(summary));
        return 0;
    }
}
