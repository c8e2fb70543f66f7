package dev.membrane.bench;

import ai.onnxruntime.OnnxTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.UNetModel;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.spm.AdapterFeeds;
import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.AdapterSlots;
import dev.membrane.spm.AppliedAdapter;
import dev.membrane.spm.PreparedUNets;
import dev.membrane.spm.SlotLayout;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.SpmModule;
import dev.membrane.spm.StackingMode;

/**
 * UNet step time with 0, 1, 4 and 8 adapters per sample on the prepared UNet, against the unprepared UNet, measured
 * side by side: after warm-up, each repetition runs every configuration once in turn, so drift of the machine
 * hits all alike. Adapters are random rank-1 SPMs on all sites (the official shape).
 */
public final class AdapterOverhead {
    /** Median and spread (min, max) of one configuration, in milliseconds. */
    public record Timing(String name, double medianMs, double minMs, double maxMs, int runs) {
    }

    private AdapterOverhead() {
    }

    public static List<Timing> measure(OrtRuntime runtime, ModelFolder folder, int imageSize, int batch, int warmup, int reps,
                                       Consumer<String> progress) {
        Path prepared = PreparedUNets.ensure(folder, 8);
        try (UNetModel plain = new UNetModel(runtime.open(folder.unet(), "UNet"));
             UNetModel slots = new UNetModel(runtime.open(prepared, "prepared UNet"))) {
            SlotLayout layout = SlotLayout.fromJson(slots.session().customMetadata().get(SlotLayout.METADATA_KEY), prepared.toString());
            int side = imageSize / 8;
            long[] shape = {batch, 4, side, side};
            Random r = new Random(1);
            float[] latents = new float[batch * 4 * side * side];
            for (int i = 0; i < latents.length; i++) latents[i] = (float) r.nextGaussian();
            int width = (int) plain.contextWidth();
            float[] ctx = new float[batch * 77 * width];
            for (int i = 0; i < ctx.length; i++) ctx[i] = (float) r.nextGaussian();
            TextEmbeddings context = new TextEmbeddings(ctx, batch, 77, width);
            List<SpmFile> adapters = new ArrayList<>();
            for (int i = 0; i < 8; i++) adapters.add(randomAdapter(layout.adapterSites(), 10 + i));

            Map<String, Map<String, OnnxTensor>> configs = new LinkedHashMap<>();
            configs.put("unprepared", null);
            for (int k : new int[] {0, 1, 4, 8}) {
                List<List<AppliedAdapter>> rows = new ArrayList<>();
                for (int b = 0; b < batch; b++) {
                    List<AppliedAdapter> stack = new ArrayList<>();
                    // each sample its own stack: rotate which adapters it carries
                    for (int j = 0; j < k; j++) stack.add(new AppliedAdapter(adapters.get((j + b) % 8), 1.0));
                    rows.add(stack);
                }
                AdapterSlots s = AdapterSlots.fill(layout, rows, StackingMode.LINEAR);
                configs.put("adapters" + k, OrtErrors.call(prepared, "creating adapter inputs",
                        () -> AdapterFeeds.tensors(runtime.environment(), layout, s)));
            }
            Map<String, List<Double>> times = new LinkedHashMap<>();
            configs.keySet().forEach(k -> times.put(k, new ArrayList<>()));
            try {
                for (int rep = -warmup; rep < reps; rep++) {
                    for (Map.Entry<String, Map<String, OnnxTensor>> c : configs.entrySet()) {
                        long t0 = System.nanoTime();
                        if (c.getValue() == null) plain.predict(latents, shape, 500, context, Map.of());
                        else slots.predict(latents, shape, 500, context, c.getValue());
                        double ms = (System.nanoTime() - t0) / 1e6;
                        if (rep >= 0) times.get(c.getKey()).add(ms);
                    }
                    if (rep >= 0) progress.accept("repetition " + (rep + 1) + "/" + reps);
                }
            } finally {
                configs.values().stream().filter(m -> m != null).forEach(m -> m.values().forEach(OnnxTensor::close));
            }
            List<Timing> out = new ArrayList<>();
            times.forEach((name, list) -> {
                double[] sorted = list.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                int n = sorted.length;
                double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
                out.add(new Timing(name, median, sorted[0], sorted[n - 1], n));
            });
            return out;
        }
    }

    private static SpmFile randomAdapter(List<AdapterSite> sites, long seed) {
        Random r = new Random(seed);
        List<SpmModule> modules = new ArrayList<>();
        for (AdapterSite s : sites) {
            float[] down = new float[s.in()];
            float[] up = new float[s.out()];
            for (int i = 0; i < down.length; i++) down[i] = (float) (r.nextGaussian() * 0.01);
            for (int i = 0; i < up.length; i++) up[i] = (float) (r.nextGaussian() * 0.01);
            modules.add(new SpmModule(s.key(), down, up, 1, s.in(), s.out(), 1f));
        }
        byte[] bytes = SpmFile.serialize(List.of("bench " + seed), sites, modules);
        return SpmFile.parse("bench-" + seed, bytes);
    }
}
