package dev.membrane.cli;

import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.logging.Logger;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;
import dev.membrane.bench.AdapterOverhead;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferencePreset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench [--model DIR] [--quick] [--out FILE.json]}: side-by-side speed measurements. Today: the adapter
 * overhead of the prepared UNet (0, 1, 4, 8 adapters per sample) against the unprepared one.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measure adapter overhead side by side; print a table and write JSON.")
public class BenchCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(BenchCommand.class.getName());

    @Inject
    MembraneConfig config;

    @Option(names = "--model", description = "Model folder (default: the sd15 reference preset under membrane.data-dir, built if absent).")
    Path model;

    @Option(names = "--quick", description = "The tiny preset at 64x64 and fewer repetitions.")
    boolean quick;

    @Option(names = "--image-size", description = "Image side in pixels (default 256, or 64 with --quick).")
    Integer imageSize;

    @Option(names = "--reps", description = "Measured repetitions per configuration (default 7, or 20 with --quick).")
    Integer reps;

    @Option(names = "--out", defaultValue = "bench-results.json", description = "JSON results file. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Override
    public Integer call() {
        ReferencePreset preset = quick ? ReferencePreset.TINY : ReferencePreset.SD15;
        Path dir = model != null ? model : config.dataDir().resolve("models/" + preset.id());
        if (model == null && !Files.exists(dir.resolve("model_index.json"))) {
            LOG.info("building the " + preset.id() + " reference model into " + dir);
            ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(preset), LOG::info);
        }
        ModelFolder folder = ModelFolder.open(dir);
        int size = imageSize != null ? imageSize : quick ? 64 : 256;
        int n = reps != null ? reps : quick ? 20 : 7;
        OrtRuntime runtime = OrtRuntime.create(config.runtimeConfig());
        List<AdapterOverhead.Timing> timings = AdapterOverhead.measure(runtime, folder, size, 2, 2, n, LOG::info);
        double base = timings.get(0).medianMs();

        ObjectNode result = Json.object();
        result.put("model", dir.toAbsolutePath().toString());
        result.put("imageSize", size);
        result.put("unetBatch", 2);
        result.put("device", runtime.target().device());
        result.put("cores", Runtime.getRuntime().availableProcessors());
        ArrayNode rows = result.putArray("unetStep");
        StringBuilder table = new StringBuilder("| configuration | median ms | min ms | max ms | runs | ratio to unprepared |\n"
                + "| --- | --- | --- | --- | --- | --- |\n");
        for (AdapterOverhead.Timing t : timings) {
            ObjectNode r = rows.addObject();
            r.put("configuration", t.name());
            r.put("medianMs", Json.round3(t.medianMs()));
            r.put("minMs", Json.round3(t.minMs()));
            r.put("maxMs", Json.round3(t.maxMs()));
            r.put("runs", t.runs());
            r.put("ratio", Json.round3(t.medianMs() / base));
            table.append(String.format("| %s | %.1f | %.1f | %.1f | %d | %.3f |%n", t.name(), t.medianMs(), t.minMs(), t.maxMs(),
                    t.runs(), t.medianMs() / base));
            if (t.name().startsWith("adapters") && !t.name().equals("adapters0")) {
                result.put("adapterOverhead" + t.name().substring("adapters".length()), Json.round3(t.medianMs() / base));
            }
        }
        result.put("preparedEmptyOverhead", Json.round3(timings.get(1).medianMs() / base));
        try {
            Files.writeString(out, Json.MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result) + "\n");
        } catch (IOException e) {
            throw new MembraneException(out + ": cannot write results (" + e.getMessage() + ")");
        }
        System.out.print(table);
        return 0;
    }
}
