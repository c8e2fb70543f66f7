package dev.membrane.serving;

import java.util.ArrayList;
import java.util.List;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.LatentNoise;
import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.scheduler.Scheduler;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.AdapterSlots;
import dev.membrane.spm.AppliedAdapter;
import dev.membrane.spm.SlotLayout;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.transport.TransportScore;

/**
 * A request with everything that depends on it alone done before it meets other requests: prompts tokenised and
 * encoded, Facilitated Transport scored, the stack checked against the slot layout and written into adapter slot
 * rows, one scheduler and initial noise per image. Whatever is wrong with a request (a prompt, an adapter, a stack)
 * fails here, for that request only, so a batch never fails for one bad member.
 *
 * <p>Joins one {@link DenoisingBatch} once (its schedulers are consumed by the run).
 */
public final class PreparedRequest {
    private final RequestSpec spec;
    private final List<PreparedImage> images;
    private final AdapterSlots slotRows;
    private final double textEncodeMs;
    private final long preparedAtNanos;
    private boolean admitted;

    private PreparedRequest(RequestSpec spec, List<PreparedImage> images, AdapterSlots slotRows, double textEncodeMs) {
        this.spec = spec;
        this.images = List.copyOf(images);
        this.slotRows = slotRows;
        this.textEncodeMs = textEncodeMs;
        this.preparedAtNanos = System.nanoTime();
    }

    /**
     * Prepares one request on a pipeline with a prepared UNet. Throws {@link MembraneException} (or the runtime's
     * error) for this request: an adapter that does not fit the UNet's sites or slots, a stack official stacking
     * refuses, a size or step count out of range.
     */
    public static PreparedRequest prepare(AdapterPipeline pipeline, RequestSpec spec) {
        long t0 = System.nanoTime();
        SlotLayout layout = pipeline.layout();
        checkStack(pipeline, spec.stack());
        StableDiffusionPipeline sd = pipeline.pipeline();
        int n = spec.images().size();

        // rows [negatives of guided images…, positives…]: the text encoder sees each prompt once
        List<String> prompts = new ArrayList<>();
        int[] negativeRow = new int[n];
        for (int i = 0; i < n; i++) {
            negativeRow[i] = spec.guidanceOf(i) > 1.0 ? prompts.size() : -1;
            if (negativeRow[i] >= 0) prompts.add(spec.images().get(i).negativePrompt());
        }
        int firstPositive = prompts.size();
        spec.images().forEach(i -> prompts.add(i.prompt()));
        PromptEncoder encoder = sd.promptEncoder();
        int[][] ids = encoder.tokenize(prompts);
        TextEmbeddings encoded = encoder.encodeIds(ids);
        long contextWidth = sd.unet().contextWidth();
        if (contextWidth > 0 && contextWidth != encoded.width()) {
            throw new MembraneException(sd.folder().root() + ": text encoder width " + encoded.width()
                    + " does not match the UNet's encoder_hidden_states width " + contextWidth);
        }

        List<PreparedImage> images = new ArrayList<>();
        List<List<AppliedAdapter>> stacks = new ArrayList<>();
        int h = spec.height() / 8;
        int w = spec.width() / 8;
        for (int i = 0; i < n; i++) {
            int positive = firstPositive + i;
            float[] embedding = encoded.row(positive);
            List<AdapterPipeline.Applied> applied = new ArrayList<>();
            List<AppliedAdapter> stack = new ArrayList<>();
            for (AdapterPipeline.AdapterRequest a : spec.stack().adapters()) {
                TransportScore score = pipeline.transport().score(a.file(), a.transport(), embedding, ids[positive]);
                applied.add(new AdapterPipeline.Applied(a.file(), score));
                stack.add(new AppliedAdapter(a.file(), score.gamma()));
            }
            stacks.add(stack);
            TextEmbeddings context = negativeRow[i] >= 0 ? rows(encoded, negativeRow[i], positive) : rows(encoded, positive);
            Scheduler scheduler = spec.scheduler().create(sd.schedulerConfig(), spec.steps());
            float[] noise = LatentNoise.gaussian(spec.images().get(i).seed(), h, w, scheduler.initNoiseSigma());
            images.add(new PreparedImage(spec.images().get(i), Math.max(1.0, spec.guidanceOf(i)), context, List.copyOf(applied),
                    scheduler, noise));
        }
        // one slot row per image; its guided rows share it
        AdapterSlots slots = AdapterSlots.fill(layout, stacks, java.util.Collections.nCopies(n, spec.stack().stacking()));
        return new PreparedRequest(spec, images, slots, (System.nanoTime() - t0) / 1e6);
    }

    /** The checks that need no model call, first, so a bad stack costs nothing. */
    private static void checkStack(AdapterPipeline pipeline, AdapterPipeline.ImageStack stack) {
        List<SpmFile> files = stack.adapters().stream().map(AdapterPipeline.AdapterRequest::file).toList();
        files.forEach(pipeline::validate);
        if (stack.stacking() == dev.membrane.spm.StackingMode.OFFICIAL) {
            int bad = AdapterSlots.officialMismatch(files);
            if (bad >= 0) {
                throw new MembraneException("official stacking needs one rank and alpha across the stack; "
                        + files.get(bad).source() + " differs from " + files.get(0).source());
            }
        }
        int needed = stack.stacking().slotsNeeded(files.stream().map(SpmFile::rank).toList());
        int slots = pipeline.layout().slots();
        if (needed > slots) {
            throw new MembraneException("the stack needs " + needed + " rank-1 slots but the prepared UNet has "
                    + slots + " (prepare it with more --slots)");
        }
    }

    private static TextEmbeddings rows(TextEmbeddings all, int... rows) {
        int n = all.length() * all.width();
        float[] out = new float[rows.length * n];
        for (int r = 0; r < rows.length; r++) System.arraycopy(all.data(), rows[r] * n, out, r * n, n);
        return new TextEmbeddings(out, rows.length, all.length(), all.width());
    }

    public RequestSpec spec() {
        return spec;
    }

    public String id() {
        return spec.id();
    }

    public List<PreparedImage> images() {
        return images;
    }

    /** Per image, its adapters as applied (file, s_f, s_t, γ). */
    public List<List<AdapterPipeline.Applied>> applied() {
        return images.stream().map(PreparedImage::applied).toList();
    }

    /** UNet rows this request takes in every call while it runs. */
    public int rows() {
        return images.stream().mapToInt(PreparedImage::rows).sum();
    }

    /** Adapter slots with one row per image (row i: image i's stack). */
    AdapterSlots slotRows() {
        return slotRows;
    }

    /** Tokenising, encoding, transport scoring and slot filling, in ms. */
    public double textEncodeMs() {
        return textEncodeMs;
    }

    long preparedAtNanos() {
        return preparedAtNanos;
    }

    boolean admitted() {
        return admitted;
    }

    void markAdmitted() {
        if (admitted) throw new IllegalStateException("request " + spec.id() + " was already admitted to a batch");
        admitted = true;
    }
}
