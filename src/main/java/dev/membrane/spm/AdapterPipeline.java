package dev.membrane.spm;

import ai.onnxruntime.OnnxTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.EncodedPrompts;
import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.GenerationResult;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.spm.transport.FacilitatedTransport;
import dev.membrane.spm.transport.Transport;
import dev.membrane.spm.transport.TransportScore;

/**
 * Generation with per-image SPM stacks on a pipeline whose UNet is prepared ({@link UNetPreparer}). Each image's
 * prompt is encoded once: the embeddings condition the UNet and feed Facilitated Transport. Images with different
 * stacks share every UNet call. Thread-safe.
 */
public final class AdapterPipeline {
    private final StableDiffusionPipeline pipeline;
    private final SlotLayout layout;
    private final FacilitatedTransport transport;

    /**
     * An adapter requested for an image, and how its γ is chosen.
     *
     * @param file      the SPM
     * @param transport facilitated or fixed
     * @param source    where it came from (for reports)
     */
    public record AdapterRequest(SpmFile file, Transport transport, Path source) {
        public AdapterRequest(SpmFile file, Transport transport) {
            this(file, transport, Path.of(file.source()));
        }
    }

    /** One image's stack. */
    public record ImageStack(List<AdapterRequest> adapters, StackingMode stacking) {
        public static ImageStack none() {
            return new ImageStack(List.of(), StackingMode.LINEAR);
        }
    }

    /** An adapter as applied to an image. */
    public record Applied(SpmFile file, TransportScore score) {
    }

    /**
     * @param generation images and timings
     * @param applied    per image, its adapters with s_f, s_t and γ
     */
    public record Result(GenerationResult generation, List<List<Applied>> applied) {
    }

    public AdapterPipeline(StableDiffusionPipeline pipeline) {
        this.pipeline = pipeline;
        String json = pipeline.unet().session().customMetadata().get(SlotLayout.METADATA_KEY);
        if (json == null) {
            throw new MembraneException(pipeline.unet().session().file() + ": UNet is not prepared for SPM adapters (run model prepare)");
        }
        this.layout = SlotLayout.fromJson(json, pipeline.unet().session().file().toString());
        this.transport = new FacilitatedTransport(pipeline.promptEncoder());
    }

    public SlotLayout layout() {
        return layout;
    }

    public StableDiffusionPipeline pipeline() {
        return pipeline;
    }

    public FacilitatedTransport transport() {
        return transport;
    }

    /** Checks every adapter against this UNet's sites (unknown keys, shapes) before anything runs. */
    public void validate(SpmFile file) {
        file.match(layout.adapterSites());
    }

    /**
     * Facilitated Transport's scores of {@code adapters} for {@code prompt}, exactly as generation would compute
     * them (same encoder, same ids), without generating: what a policy preview reports.
     */
    public List<Applied> score(String prompt, List<AdapterRequest> adapters) {
        var encoder = pipeline.promptEncoder();
        int[][] ids = encoder.tokenize(List.of(prompt));
        float[] embedding = adapters.isEmpty() ? null : encoder.encodeIds(ids).row(0);
        List<Applied> out = new ArrayList<>();
        for (AdapterRequest a : adapters) out.add(new Applied(a.file(), transport.score(a.file(), a.transport(), embedding, ids[0])));
        return out;
    }

    public Result generate(GenerationRequest request, List<ImageStack> stacks) {
        if (stacks.size() != request.images().size()) throw new IllegalArgumentException("one stack per image");
        stacks.forEach(s -> s.adapters().forEach(a -> validate(a.file())));
        List<List<Applied>> applied = new ArrayList<>();
        GenerationResult result = pipeline.generate(request, prompts -> feeds(prompts, stacks, applied));
        return new Result(result, List.copyOf(applied));
    }

    private Map<String, OnnxTensor> feeds(EncodedPrompts prompts, List<ImageStack> stacks, List<List<Applied>> applied)
            throws ai.onnxruntime.OrtException {
        List<List<AppliedAdapter>> perImage = new ArrayList<>();
        for (int i = 0; i < stacks.size(); i++) {
            List<Applied> scores = new ArrayList<>();
            List<AppliedAdapter> stack = new ArrayList<>();
            float[] embedding = null;
            for (AdapterRequest a : stacks.get(i).adapters()) {
                if (embedding == null) embedding = prompts.positiveEmbedding(i);
                TransportScore score = transport.score(a.file(), a.transport(), embedding, prompts.positiveIds(i));
                scores.add(new Applied(a.file(), score));
                stack.add(new AppliedAdapter(a.file(), score.gamma()));
            }
            applied.add(List.copyOf(scores));
            perImage.add(stack);
        }
        List<List<AppliedAdapter>> rows = new ArrayList<>();
        List<StackingMode> modes = new ArrayList<>();
        for (int row = 0; row < prompts.rows(); row++) {
            int image = prompts.imageOfRow(row);
            rows.add(perImage.get(image));
            modes.add(stacks.get(image).stacking());
        }
        return AdapterFeeds.tensors(pipeline.unet().session().environment(), layout, AdapterSlots.fill(layout, rows, modes));
    }
}
