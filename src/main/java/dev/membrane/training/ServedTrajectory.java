package dev.membrane.training;

import ai.onnxruntime.OnnxTensor;
import java.util.List;
import java.util.Map;

import dev.membrane.diffusion.Denoiser;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.UNetModel;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.spm.AdapterFeeds;
import dev.membrane.spm.AdapterSlots;
import dev.membrane.spm.AppliedAdapter;
import dev.membrane.spm.SlotLayout;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.StackingMode;

/**
 * The no-grad trajectory on the gateway's own inference path: the prepared UNet on ONNX Runtime with the SPM in
 * its slots (linear stacking, γ = 1: exactly y = W x + (alpha/r)·U(D x), which {@code SpmTrainingTest} holds equal
 * to the twin). Sampling needs no gradients, and with the served engine a tiny-model iteration is 2.5x faster than
 * sampling on the twin's eager PyTorch, where per-op overhead dominates; the twin keeps the passes that need
 * gradients. The loop is the gateway's own {@link Denoiser}, stopped after t_to steps.
 */
final class ServedTrajectory implements Trajectory, AutoCloseable {
    private final UNetModel unet;
    private final Denoiser denoiser;
    private final SlotLayout layout;
    private final OrtRuntime runtime;
    private final TwinSampler schedules;
    private final Conditioning conditioning;
    private final int side;

    ServedTrajectory(OrtRuntime runtime, java.nio.file.Path preparedUNet, TwinSampler schedules, Conditioning conditioning, int side) {
        this.runtime = runtime;
        this.unet = new UNetModel(runtime.open(preparedUNet, "prepared UNet"));
        this.denoiser = new Denoiser(unet);
        String json = unet.session().customMetadata().get(SlotLayout.METADATA_KEY);
        if (json == null) throw new dev.membrane.MembraneException(preparedUNet + ": not a prepared UNet (no " + SlotLayout.METADATA_KEY + ")");
        this.layout = SlotLayout.fromJson(json, preparedUNet.toString());
        this.schedules = schedules;
        this.conditioning = conditioning;
        this.side = side;
    }

    int slots() {
        return layout.slots();
    }

    @Override
    public float[] denoise(float[] noise, int steps, int total, float[] cond, double g, SpmParameters spm) {
        List<AppliedAdapter> stack = spm == null ? List.of()
                : List.of(new AppliedAdapter(SpmFile.parse("training state", SpmFile.serialize(List.of("training"), spm.sites(), spm.modules())), 1.0));
        AdapterSlots slots = AdapterSlots.fill(layout, List.of(stack, stack), StackingMode.LINEAR);
        int n = conditioning.elements();
        float[] ctx = new float[2 * n];
        System.arraycopy(conditioning.unconditional(), 0, ctx, 0, n);
        System.arraycopy(cond, 0, ctx, n, n);
        TextEmbeddings pair = new TextEmbeddings(ctx, 2, conditioning.length(), conditioning.width());
        Map<String, OnnxTensor> feeds = OrtErrors.call(unet.session().file(), "filling adapter slots",
                () -> AdapterFeeds.tensors(runtime.environment(), layout, slots));
        try {
            return denoiser.denoise(noise, new long[] {1, 4, side, side}, pair, new double[] {g}, schedules.trajectory(total), steps,
                    feeds, new java.util.ArrayList<>());
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() {
        unet.close();
    }
}
