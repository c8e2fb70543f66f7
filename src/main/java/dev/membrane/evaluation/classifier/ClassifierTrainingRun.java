package dev.membrane.evaluation.classifier;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.Hashes;
import dev.membrane.MembraneException;
import dev.membrane.training.Progress;
import dev.membrane.evaluation.ReportJson;
import dev.membrane.onnx.OrtRuntime;

/**
 * {@code model train-classifier}: trains ({@link ClassifierTrainer}), exports ({@link ClassifierExport}), then
 * measures the exported file on ONNX Runtime, the artefact evaluations use, on freshly rendered held-out images of a
 * seed the training never draws. Writes FILE.onnx and FILE.json (the report) beside it.
 */
public final class ClassifierTrainingRun {
    /** Held-out images (both palettes), enough that 97% is measured to about ±0.3 points. */
    public static final int HELD_OUT = 3000;

    private ClassifierTrainingRun() {
    }

    /** The held-out stream's seed: not a step stream of the training (those are SplitMix64 outputs of (seed, step)). */
    public static long heldOutSeed(long seed) {
        return ~seed ^ 0x5EED_0F_4E1D_0175L;
    }

    public static Path reportFile(Path onnx) {
        String name = onnx.getFileName().toString();
        String stem = name.endsWith(".onnx") ? name.substring(0, name.length() - 5) : name;
        return onnx.resolveSibling(stem + ".json");
    }

    /** Trains, writes both files, returns the report. */
    public static ObjectNode run(Engine engine, OrtRuntime runtime, ClassifierTrainer.Options options, Path out, Progress progress) {
        long start = System.nanoTime();
        ClassifierTrainer.Result result;
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), engine.getEngineName())) {
            result = new ClassifierTrainer(engine, manager).train(options, progress);
        }
        return export(runtime, options, result, out, progress, start);
    }

    /**
     * Exports {@code result}, measures the file on ONNX Runtime and writes the report beside it.
     *
     * @param startNanos when the run began (for {@code totalWallMs})
     */
    public static ObjectNode export(OrtRuntime runtime, ClassifierTrainer.Options options, ClassifierTrainer.Result result, Path out,
                                    Progress progress, long startNanos) {
        ClassifierExport.write(result.weights(), Map.of(), out);
        long heldOutSeed = heldOutSeed(options.seed());
        Map<Head, ConfusionMatrix> heldOut;
        Map<Head, ConfusionMatrix> heldOutDegraded;
        progress.message("measuring " + HELD_OUT + " held-out images (seed " + heldOutSeed + ") on ONNX Runtime, crisp and degraded");
        try (ShapesClassifier classifier = ShapesClassifier.open(runtime, out)) {
            heldOut = ClassifierAccuracy.measure(classifier, heldOutSeed, HELD_OUT);
            heldOutDegraded = ClassifierAccuracy.measure(classifier, heldOutSeed, HELD_OUT, true);
        }
        ObjectNode report = ReportJson.object();
        report.put("out", out.toString());
        try {
            byte[] bytes = Files.readAllBytes(out);
            report.put("bytes", bytes.length);
            report.put("sha256", Hashes.sha256(bytes));
        } catch (IOException e) {
            throw new MembraneException(out + ": cannot read back the classifier (" + e.getMessage() + ")");
        }
        report.put("parameters", result.weights().parameterCount());
        report.put("seed", options.seed());
        report.put("steps", options.steps());
        report.put("batch", options.batch());
        report.put("lr", options.lr());
        report.put("warmup", options.warmup());
        report.put("degrade", options.degrade());
        report.put("trainingImages", (long) options.steps() * options.batch());
        ReportJson.put(report, "lossFirst50", result.firstLoss());
        ReportJson.put(report, "lossLast50", result.lastLoss());
        ObjectNode held = report.putObject("heldOut");
        held.put("seed", heldOutSeed);
        held.put("images", HELD_OUT);
        ObjectNode acc = report.putObject("accuracy");
        ObjectNode confusion = report.putObject("confusion");
        double worst = 1;
        for (Head h : Head.values()) {
            ReportJson.put(acc, h.id(), heldOut.get(h).accuracy());
            confusion.set(h.id(), ReportJson.confusion(heldOut.get(h)));
            worst = Math.min(worst, heldOut.get(h).accuracy());
        }
        ReportJson.put(report, "worstHeadAccuracy", worst);
        // the same held-out scenes' stream, degraded as in training: how it reads a decoder's soft output
        ObjectNode degraded = report.putObject("accuracyDegraded");
        ObjectNode degradedConfusion = report.putObject("confusionDegraded");
        for (Head h : Head.values()) {
            ReportJson.put(degraded, h.id(), heldOutDegraded.get(h).accuracy());
            degradedConfusion.set(h.id(), ReportJson.confusion(heldOutDegraded.get(h)));
        }
        ObjectNode train = report.putObject("trainAccuracyLast50");
        result.lastTrainAccuracy().forEach((h, v) -> ReportJson.put(train, h.id(), v));
        ReportJson.put(report, "trainWallMs", Math.round(result.trainMs()));
        ReportJson.put(report, "totalWallMs", Math.round((System.nanoTime() - startNanos) / 1e6));
        try {
            Files.writeString(reportFile(out), ReportJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(report) + "\n",
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new MembraneException(reportFile(out) + ": cannot write the report (" + e.getMessage() + ")");
        }
        return report;
    }
}
