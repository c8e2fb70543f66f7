package dev.membrane.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.gateway.ServedModel;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.reference.ReferencePreset;

/**
 * Every benchmark in one run, so the ratios come from side-by-side measurements on the same machine state.
 * Results: a JSON document (ratios under fixed names) and a Markdown table.
 */
public final class BenchSuite {
    /**
     * @param imageSize       pixels per side
     * @param reps            measured repetitions for UNet-level figures
     * @param warmup          warm-up repetitions
     * @param mixedBatch      samples in the mixed/uniform batch
     * @param mergeReps       stack switches measured
     * @param requests        requests in the throughput burst
     * @param loneRequests    requests sent one at a time for added latency
     * @param steps           inference steps per request in the gateway comparison
     * @param batchWaitMs     the gateway's batch window
     * @param matmulSide      side of the square MatMul measuring the peak rate
     */
    public record Plan(int imageSize, int reps, int warmup, int mixedBatch, int mergeReps, int requests, int loneRequests,
                       int steps, long batchWaitMs, int matmulSide) {
        public static Plan quick() {
            return new Plan(64, 15, 2, 4, 5, 24, 8, 10, 50, 1024);
        }

        public static Plan full() {
            return new Plan(256, 7, 2, 4, 3, 8, 4, 4, 50, 2048);
        }
    }

    /** The JSON results and the Markdown table. */
    public record Report(ObjectNode json, String markdown) {
    }

    private BenchSuite() {
    }

    public static Report run(OrtRuntime runtime, ModelFolder folder, ReferencePreset presetForFlops, Plan plan, Path work,
                             Consumer<String> progress) throws Exception {
        return run(runtime, folder, presetForFlops, plan, work, List.of(), progress);
    }

    /** @param classifiers output classifier folders whose per-image cost is measured too ({@code outputCheckMsPerImage}) */
    public static Report run(OrtRuntime runtime, ModelFolder folder, ReferencePreset presetForFlops, Plan plan, Path work,
                             List<Path> classifiers, Consumer<String> progress) throws Exception {
        ObjectNode json = new ObjectMapper().createObjectNode();
        StringBuilder md = new StringBuilder();
        json.put("model", folder.root().toAbsolutePath().toString());
        json.put("imageSize", plan.imageSize());
        json.put("device", runtime.target().device());
        json.put("cores", Runtime.getRuntime().availableProcessors());

        progress.accept("matmul peak");
        Stats peak = MatMulPeak.measure(runtime, plan.matmulSide(), plan.reps());
        json.put("matmulPeakGflops", round(peak.median()));

        Map<String, Stats> overhead;
        Stats[] mixed;
        Stats[] merge;
        try (UNetBench bench = new UNetBench(runtime, folder, plan.imageSize())) {
            overhead = AdapterOverhead.measure(bench, 2, plan.warmup(), plan.reps(), progress);
            mixed = MixedBatch.measure(bench, plan.mixedBatch(), 2, plan.warmup(), plan.reps(), progress);
            merge = MergeSwitch.measure(bench, 2, plan.mergeReps(), progress);
        }
        double base = overhead.get("unprepared").median();
        int latent = plan.imageSize() / 8;
        double flops = presetForFlops == null ? Double.NaN : UNetFlops.count(presetForFlops, 2, latent, latent, 77);
        md.append("| UNet call (batch 2, ").append(plan.imageSize()).append("x").append(plan.imageSize())
                .append(") | median ms | min ms | max ms | runs | ratio | GFLOP/s | % of matmul peak |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (var e : overhead.entrySet()) {
            Stats s = e.getValue();
            double gflops = flops / (s.median() / 1e3) / 1e9;
            md.append(String.format("| %s | %.1f | %.1f | %.1f | %d | %.3f | %.1f | %.0f%% |%n", label(e.getKey()), s.median(), s.min(),
                    s.max(), s.n(), s.median() / base, gflops, 100 * gflops / peak.median()));
            if (!e.getKey().equals("unprepared")) {
                String k = e.getKey().substring("adapters".length());
                json.put(k.equals("0") ? "preparedEmptyOverhead" : "adapterOverhead" + k, round(s.median() / base));
            }
            json.putObject("unetCall_" + e.getKey()).put("medianMs", round(s.median())).put("minMs", round(s.min()))
                    .put("maxMs", round(s.max())).put("runs", s.n());
        }
        json.put("unetGflopPerCall", round(flops / 1e9));
        json.put("unetGflops", round(flops / (base / 1e3) / 1e9));
        md.append(String.format("%nUNet: %.1f GFLOP per call (batch 2, counted from the architecture); matmul peak %.1f GFLOP/s "
                + "(%dx%d MatMul, same run, median of %d).%n%n", flops / 1e9, peak.median(), plan.matmulSide(), plan.matmulSide(), peak.n()));

        double mixedVsUniform = mixed[0].median() / mixed[1].median();
        json.put("mixedVsUniformBatch", round(mixedVsUniform));
        md.append("| comparison | A median ms | B median ms | ratio |\n| --- | --- | --- | --- |\n");
        md.append(String.format("| mixedVsUniformBatch: throughput of %d samples with all-different stacks (A) / all the same stack (B), 2 adapters each | %.1f | %.1f | %.3f |%n",
                plan.mixedBatch(), mixed[1].median(), mixed[0].median(), mixedVsUniform));
        double mergeVsSlots = merge[0].median() / merge[1].median();
        json.put("mergeSwitchVsSlots", round(mergeVsSlots));
        json.put("mergeSwitchMs", round(merge[0].median()));
        json.put("slotSwitchMs", round(merge[1].median()));
        md.append(String.format("| mergeSwitchVsSlots: switching to a new 2-adapter stack by merging ΔW and rebuilding the session (A) / filling slots (B) | %.1f | %.3f | %.0f |%n",
                merge[0].median(), merge[1].median(), mergeVsSlots));

        progress.accept("gateway vs bare");
        try (ServedModel model = ServedModel.open("bench", folder.root(), runtime, 8)) {
            GatewayThroughput.Result g = GatewayThroughput.measure(model, Files.createDirectories(work.resolve("gateway")),
                    plan.requests(), plan.loneRequests(), plan.imageSize(), plan.steps(), plan.batchWaitMs(), progress);
            double ratio = g.gatewayRps() / g.bareRps();
            json.put("gatewayVsBare", round(ratio));
            json.put("gatewayRps", round(g.gatewayRps()));
            json.put("bareRps", round(g.bareRps()));
            json.put("gatewayAddedLatencyP50Ms", round(Stats.quantile(g.addedLatencyMs(), 0.5)));
            json.put("gatewayAddedLatencyP99Ms", round(Stats.quantile(g.addedLatencyMs(), 0.99)));
            json.put("gatewayBatchWaitMs", g.batchWaitMs());
            md.append(String.format("| gatewayVsBare: requests/s through the gateway, %d requests in a burst, %d steps (A) / the bare pipeline looping over them (B) | %.3f rps | %.3f rps | %.3f |%n",
                    plan.requests(), plan.steps(), g.gatewayRps(), g.bareRps(), ratio));
            md.append(String.format("%nLatency the gateway adds to a lone request (%d requests, end to end minus the bare time of the same request; batch window %d ms): p50 %.1f ms, p99 %.1f ms.%n",
                    g.addedLatencyMs().size(), g.batchWaitMs(), Stats.quantile(g.addedLatencyMs(), 0.5), Stats.quantile(g.addedLatencyMs(), 0.99)));
        }
        if (!classifiers.isEmpty()) {
            ObjectNode costs = json.putObject("outputCheckMsPerImage");
            md.append(String.format("%n| output check (%dx%d images) | input | batch | median ms per image | min | max | runs |%n| --- | --- | --- | --- | --- | --- | --- |%n",
                    plan.imageSize(), plan.imageSize()));
            for (Path dir : classifiers) {
                for (OutputCheckCost.Result r : OutputCheckCost.measure(runtime, dir, plan.imageSize(), plan.warmup(), plan.reps(), progress)) {
                    costs.withObject("/" + r.classifier()).put("batch" + r.batch(), round(r.msPerImage().median()));
                    md.append(String.format("| %s | %d | %d | %.1f | %.1f | %.1f | %d |%n", r.classifier(), r.inputSide(), r.batch(),
                            r.msPerImage().median(), r.msPerImage().min(), r.msPerImage().max(), r.msPerImage().n()));
                }
            }
        }
        return new Report(json, md.toString());
    }

    private static String label(String key) {
        return key.equals("unprepared") ? "unprepared UNet" : "prepared, " + key.substring("adapters".length()) + " adapters per sample";
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
