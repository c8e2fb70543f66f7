package dev.membrane.bench;

import ai.onnxruntime.OnnxTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

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
 * What the UNet benchmarks share: the unprepared and the prepared UNet of one model, random inputs of one batch
 * size, and random rank-1 adapters on every site (the official shape). Not thread-safe.
 */
final class UNetBench implements AutoCloseable {
    final OrtRuntime runtime;
    final ModelFolder folder;
    final UNetModel plain;
    final UNetModel prepared;
    final SlotLayout layout;
    final List<SpmFile> adapters = new ArrayList<>();
    final int side;

    UNetBench(OrtRuntime runtime, ModelFolder folder, int imageSize) {
        this.runtime = runtime;
        this.folder = folder;
        Path preparedFile = PreparedUNets.ensure(folder, 8);
        plain = new UNetModel(runtime.open(folder.unet(), "UNet"));
        prepared = new UNetModel(runtime.open(preparedFile, "prepared UNet"));
        layout = SlotLayout.fromJson(prepared.session().customMetadata().get(SlotLayout.METADATA_KEY), preparedFile.toString());
        side = imageSize / 8;
        for (int i = 0; i < 8; i++) adapters.add(randomAdapter(layout.adapterSites(), 10 + i));
    }

    /** Latents and context for a batch of {@code batch} rows. */
    record Inputs(float[] latents, long[] shape, TextEmbeddings context) {
    }

    Inputs inputs(int batch) {
        Random r = new Random(1);
        float[] latents = new float[batch * 4 * side * side];
        for (int i = 0; i < latents.length; i++) latents[i] = (float) r.nextGaussian();
        int width = (int) plain.contextWidth();
        float[] ctx = new float[batch * 77 * width];
        for (int i = 0; i < ctx.length; i++) ctx[i] = (float) r.nextGaussian();
        return new Inputs(latents, new long[] {batch, 4, side, side}, new TextEmbeddings(ctx, batch, 77, width));
    }

    /** Slot tensors for per-row stacks. */
    Map<String, OnnxTensor> feeds(List<List<AppliedAdapter>> rows) {
        AdapterSlots s = AdapterSlots.fill(layout, rows, StackingMode.LINEAR);
        return OrtErrors.call(folder.unet(), "creating adapter inputs", () -> AdapterFeeds.tensors(runtime.environment(), layout, s));
    }

    /** Row b carries k adapters starting at adapter {@code first(b)}. */
    List<List<AppliedAdapter>> stacks(int batch, int k, java.util.function.IntUnaryOperator first) {
        List<List<AppliedAdapter>> rows = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            List<AppliedAdapter> stack = new ArrayList<>();
            for (int j = 0; j < k; j++) stack.add(new AppliedAdapter(adapters.get((first.applyAsInt(b) + j) % adapters.size()), 1.0));
            rows.add(stack);
        }
        return rows;
    }

    double runPlain(Inputs in) {
        long t0 = System.nanoTime();
        plain.predict(in.latents(), in.shape(), 500, in.context(), Map.of());
        return (System.nanoTime() - t0) / 1e6;
    }

    double runPrepared(Inputs in, Map<String, OnnxTensor> feeds) {
        long t0 = System.nanoTime();
        prepared.predict(in.latents(), in.shape(), 500, in.context(), feeds);
        return (System.nanoTime() - t0) / 1e6;
    }

    static SpmFile randomAdapter(List<AdapterSite> sites, long seed) {
        return SpmFile.parse("bench-" + seed, randomAdapterBytes(sites, seed));
    }

    /** A rank-1 SPM file on every site, small random factors, in the official format. */
    static byte[] randomAdapterBytes(List<AdapterSite> sites, long seed) {
        Random r = new Random(seed);
        List<SpmModule> modules = new ArrayList<>();
        for (AdapterSite s : sites) {
            float[] down = new float[s.in()];
            float[] up = new float[s.out()];
            for (int i = 0; i < down.length; i++) down[i] = (float) (r.nextGaussian() * 0.01);
            for (int i = 0; i < up.length; i++) up[i] = (float) (r.nextGaussian() * 0.01);
            modules.add(new SpmModule(s.key(), down, up, 1, s.in(), s.out(), 1f));
        }
        return SpmFile.serialize(List.of("bench concept " + seed), sites, modules);
    }

    @Override
    public void close() {
        plain.close();
        prepared.close();
    }
}
