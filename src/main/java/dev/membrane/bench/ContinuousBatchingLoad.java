package dev.membrane.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.serving.BatchingMode;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.SpmFile;

/**
 * Issue 13 item 9's measurement: latency and throughput of continuous against static batching under load. First
 * the static capacity (requests/s on a burst); then Poisson arrivals at fractions of it, each arrival sequence
 * replayed under STATIC and CONTINUOUS in the same run, one worker thread per mode driving a
 * {@link dev.membrane.serving.DenoisingBatch}.
 */
public final class ContinuousBatchingLoad {
    /**
     * @param imageSize        pixels per side
     * @param maxImages        images per batch (the gateway's default limit, 8); guided, so 2 UNet rows each
     * @param capacityRequests requests in the capacity burst
     * @param loadRequests     requests per load run (per mode)
     * @param stepChoices      step counts requests draw from uniformly
     * @param loads            arrival rates as fractions of the static capacity
     * @param seed             arrivals, steps, stacks and image seeds
     */
    public record Plan(int imageSize, int maxImages, int capacityRequests, int loadRequests, int[] stepChoices, double[] loads, long seed) {
        /** The tiny model at 64x64: a few minutes on 2 cores. */
        public static Plan tiny() {
            return new Plan(64, 8, 48, 80, new int[] {10, 20, 30}, new double[] {0.5, 0.8}, 13);
        }

        /**
         * The SD 1.5 reference at 256x256, sized for about 15 minutes on 2 cores (a UNet row costs about 1.2 s there):
         * few requests and few steps, keeping tiny's 1:2:3 spread of step counts.
         */
        public static Plan sd15() {
            return new Plan(256, 8, 6, 10, new int[] {2, 4, 6}, new double[] {0.5, 0.8}, 13);
        }

        public Plan withRequests(int capacity, int load) {
            return new Plan(imageSize, maxImages, capacity, load, stepChoices, loads, seed);
        }

        public Plan withSteps(int[] steps) {
            return new Plan(imageSize, maxImages, capacityRequests, loadRequests, steps, loads, seed);
        }

        public Plan withImageSize(int size) {
            return new Plan(size, maxImages, capacityRequests, loadRequests, stepChoices, loads, seed);
        }
    }

    /** The JSON results and the Markdown table. */
    public record Report(ObjectNode json, String markdown) {
    }

    private ContinuousBatchingLoad() {
    }

    public static Report run(AdapterPipeline pipeline, Plan plan, Consumer<String> progress) {
        List<SpmFile> pool = new ArrayList<>();
        for (int i = 0; i < 4; i++) pool.add(UNetBench.randomAdapter(pipeline.layout().adapterSites(), 200 + i));
        int maxRows = 2 * plan.maxImages();
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.put("model", pipeline.pipeline().folder().root().toAbsolutePath().toString());
        json.put("imageSize", plan.imageSize());
        json.put("cores", Runtime.getRuntime().availableProcessors());
        json.put("maxImagesPerBatch", plan.maxImages());
        json.put("maxUNetRows", maxRows);
        json.put("stepChoices", Arrays.toString(plan.stepChoices()));
        json.put("capacityRequests", plan.capacityRequests());
        json.put("loadRequests", plan.loadRequests());
        json.put("seed", plan.seed());

        progress.accept("load: warm-up");
        LoadDriver.run(pipeline, BatchingMode.CONTINUOUS, LoadArrivals.generate(2, Double.POSITIVE_INFINITY, plan.seed() + 99,
                plan.imageSize(), new int[] {2}, pool), maxRows, m -> { });
        progress.accept("load: static capacity on a burst of " + plan.capacityRequests() + " requests");
        LoadDriver.Run burst = LoadDriver.run(pipeline, BatchingMode.STATIC, LoadArrivals.generate(plan.capacityRequests(),
                Double.POSITIVE_INFINITY, plan.seed(), plan.imageSize(), plan.stepChoices(), pool), maxRows, progress);
        double capacity = burst.throughputRps();
        json.put("staticCapacityRps", round(capacity));
        json.put("staticCapacityMeanRows", round(burst.meanRows()));
        json.put("staticCapacityMeanStepMs", round(burst.meanStepMs()));
        StringBuilder md = new StringBuilder();
        md.append(String.format("Static capacity: %.3f requests/s (burst of %d one-image guided requests, steps from %s, %dx%d, "
                        + "at most %d images per batch; %.0f ms per step at %.1f UNet rows).%n%n", capacity, plan.capacityRequests(), Arrays.toString(plan.stepChoices()),
                plan.imageSize(), plan.imageSize(), plan.maxImages(), burst.meanStepMs(), burst.meanRows()));
        md.append("| load | mode | requests | p50 ms | p99 ms | throughput rps | UNet calls | mean rows/call | mean step ms |\n"
                + "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        ArrayNode loads = json.putArray("loads");
        for (int li = 0; li < plan.loads().length; li++) {
            double fraction = plan.loads()[li];
            double rate = fraction * capacity;
            List<LoadArrivals.Arrival> arrivals = LoadArrivals.generate(plan.loadRequests(), rate, plan.seed() + 1 + li,
                    plan.imageSize(), plan.stepChoices(), pool);
            int percent = (int) Math.round(fraction * 100);
            progress.accept(String.format("load %d%%: %.3f arrivals/s, static", percent, rate));
            LoadDriver.Run statik = LoadDriver.run(pipeline, BatchingMode.STATIC, arrivals, maxRows, progress);
            progress.accept(String.format("load %d%%: %.3f arrivals/s, continuous", percent, rate));
            LoadDriver.Run continuous = LoadDriver.run(pipeline, BatchingMode.CONTINUOUS, arrivals, maxRows, progress);
            ObjectNode l = loads.addObject();
            l.put("loadFraction", fraction);
            l.put("arrivalRps", round(rate));
            put(l.putObject("static"), statik);
            put(l.putObject("continuous"), continuous);
            double p50 = Stats.quantile(continuous.latencyMs(), 0.5) / Stats.quantile(statik.latencyMs(), 0.5);
            double p99 = Stats.quantile(continuous.latencyMs(), 0.99) / Stats.quantile(statik.latencyMs(), 0.99);
            double throughput = continuous.throughputRps() / statik.throughputRps();
            l.put("loadP50RatioContinuousVsStatic", round(p50));
            l.put("loadP99RatioContinuousVsStatic", round(p99));
            l.put("loadThroughputRatio", round(throughput));
            json.put("loadP50RatioContinuousVsStatic_" + percent, round(p50));
            json.put("loadP99RatioContinuousVsStatic_" + percent, round(p99));
            json.put("loadThroughputRatio_" + percent, round(throughput));
            row(md, percent, statik, plan.loadRequests());
            row(md, percent, continuous, plan.loadRequests());
            md.append(String.format("| %d%% | continuous / static | | %.3f | %.3f | %.3f | | | |%n", percent, p50, p99, throughput));
        }
        md.append("\nLatency: arrival to decoded PNG. Throughput: requests / (last finish - first arrival). Goal (issue 13): "
                + "p50 <= 0.6 of static at 80% load, throughput >= 0.97.\n");
        return new Report(json, md.toString());
    }

    private static void put(ObjectNode n, LoadDriver.Run r) {
        n.put("mode", r.mode().id());
        n.put("p50Ms", round(Stats.quantile(r.latencyMs(), 0.5)));
        n.put("p99Ms", round(Stats.quantile(r.latencyMs(), 0.99)));
        n.put("throughputRps", round(r.throughputRps()));
        n.put("unetCalls", r.unetCalls());
        n.put("meanRowsPerCall", round(r.meanRows()));
        n.put("meanStepMs", round(r.meanStepMs()));
    }

    private static void row(StringBuilder md, int percent, LoadDriver.Run r, int requests) {
        md.append(String.format("| %d%% | %s | %d | %.0f | %.0f | %.3f | %d | %.1f | %.0f |%n", percent, r.mode().id(), requests,
                Stats.quantile(r.latencyMs(), 0.5), Stats.quantile(r.latencyMs(), 0.99), r.throughputRps(), r.unetCalls(), r.meanRows(),
                r.meanStepMs()));
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
