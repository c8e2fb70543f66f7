package dev.membrane.serving;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import dev.membrane.diffusion.Denoiser;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.UNetModel;
import dev.membrane.spm.AdapterPipeline;

/**
 * A running UNet batch over samples of several requests. Each {@link #step()} makes one UNet call over every
 * active sample's rows, each row with its own timestep, text embeddings and adapter slots, then steps each
 * sample's own scheduler with its own guidance. In {@link BatchingMode#CONTINUOUS} mode requests join at any step
 * boundary and leave (decoded) as soon as their last step is done; in {@link BatchingMode#STATIC} mode a batch
 * forms, runs to its end, and only then takes new requests.
 *
 * <p>Capacity is counted in UNet rows (a guided image takes 2, an unguided 1), the unit a memory budget maps to.
 *
 * <p>Not thread-safe: one thread owns a batch.
 */
public final class DenoisingBatch implements AutoCloseable {
    private final AdapterPipeline pipeline;
    private final StableDiffusionPipeline sd;
    private final EffectiveMode mode;
    private final int maxRows;
    private final List<ActiveRequest> active = new ArrayList<>();
    private BatchFeeds feeds;
    private boolean membershipChanged;
    /** STATIC: whether the current batch has made its first call (then it admits nobody until it empties). */
    private boolean started;
    private int feedBuilds;

    public DenoisingBatch(AdapterPipeline pipeline, BatchingMode requested, int maxRows) {
        if (maxRows < 1) throw new IllegalArgumentException("maxRows must be at least 1, got " + maxRows);
        this.pipeline = pipeline;
        this.sd = pipeline.pipeline();
        this.maxRows = maxRows;
        this.mode = effectiveMode(requested, sd.unet());
    }

    /** CONTINUOUS needs a timestep per row; a UNet exported with a scalar (or [1]) timestep runs STATIC. */
    public static EffectiveMode effectiveMode(BatchingMode requested, UNetModel unet) {
        if (requested == BatchingMode.CONTINUOUS && !unet.perRowTimesteps()) {
            return new EffectiveMode(BatchingMode.STATIC, unet.session().file() + ": the UNet's " + unet.timestepInput()
                    + " takes one timestep per call, so samples at different steps cannot share a call; batching is static");
        }
        return new EffectiveMode(requested, "");
    }

    /** The mode in force and, if it is not the one asked for, why (to log at start). */
    public EffectiveMode effectiveMode() {
        return mode;
    }

    public int maxRows() {
        return maxRows;
    }

    /** UNet rows of every call now. */
    public int activeRows() {
        return active.stream().mapToInt(ActiveRequest::rows).sum();
    }

    /** UNet rows the request would take: 2 per guided image, 1 per unguided one. */
    public int rowsOf(PreparedRequest request) {
        return request.rows();
    }

    /** Whether the request could ever be admitted (it alone fits in {@link #maxRows()}); else reject it. */
    public boolean fits(PreparedRequest request) {
        return rowsOf(request) <= maxRows;
    }

    public boolean isEmpty() {
        return active.isEmpty();
    }

    /** Requests running now. */
    public int activeRequests() {
        return active.size();
    }

    /**
     * Whether the request can join now: not yet admitted anywhere, the same image size as the running samples
     * (latents are one tensor), room for its rows; in STATIC mode also the batch not yet started and the same
     * steps and scheduler as its members (they run every call together).
     */
    public boolean canAdmit(PreparedRequest request) {
        if (request.admitted() || activeRows() + rowsOf(request) > maxRows) return false;
        if (active.isEmpty()) return true;
        RequestSpec first = active.get(0).request.spec();
        RequestSpec next = request.spec();
        if (first.width() != next.width() || first.height() != next.height()) return false;
        if (mode.mode() == BatchingMode.STATIC) {
            return !started && first.steps() == next.steps() && first.scheduler() == next.scheduler();
        }
        return true;
    }

    /** Adds the request; its first call is the next {@link #step()}. */
    public void admit(PreparedRequest request) {
        if (!canAdmit(request)) throw new IllegalStateException("request " + request.id() + " cannot join this batch now");
        request.markAdmitted();
        active.add(new ActiveRequest(request));
        membershipChanged = true;
    }

    /**
     * One UNet call over every active sample, one scheduler step each. Returns the requests that left: those whose
     * images are all done (decoded and PNG-encoded, or failed in decoding), or every request when the UNet call
     * failed. Empty when nothing finished (or nothing runs).
     */
    public List<FinishedRequest> step() {
        if (active.isEmpty()) return List.of();
        UNetCall call;
        try {
            if (membershipChanged || feeds == null) rebuildFeeds();
            call = callUNet();
        } catch (RuntimeException e) {
            return failAll(e);
        }
        float[] noise = call.noise();
        started = true;
        int latentSize = active.get(0).samples.get(0).latents().length;
        int row = 0;
        for (ActiveRequest r : active) {
            r.unetCallMs.add(call.ms());
            r.batchRows.add(call.rows());
            for (ActiveSample s : r.samples) {
                float[] prediction = new float[latentSize];
                if (s.image().guided()) {
                    Denoiser.guideInto(noise, row * latentSize, (row + 1) * latentSize, latentSize, s.image().guidance(), prediction, 0);
                } else {
                    System.arraycopy(noise, row * latentSize, prediction, 0, latentSize);
                }
                s.advance(prediction);
                row += s.image().rows();
            }
        }
        List<FinishedRequest> finished = new ArrayList<>();
        for (Iterator<ActiveRequest> it = active.iterator(); it.hasNext(); ) {
            ActiveRequest r = it.next();
            if (!r.done()) continue;
            it.remove();
            membershipChanged = true;
            finished.add(FinishedRequests.complete(sd, r));
        }
        if (active.isEmpty()) started = false;
        return finished;
    }

    /** One call's noise prediction for every row, its duration and its rows. */
    private record UNetCall(float[] noise, double ms, int rows) {
    }

    private UNetCall callUNet() {
        int rows = feeds.rows;
        ActiveSample any = active.get(0).samples.get(0);
        int latentSize = any.latents().length;
        RequestSpec spec = active.get(0).request.spec();
        float[] latents = new float[rows * latentSize];
        double[] timesteps = new double[rows];
        int row = 0;
        for (ActiveRequest r : active) {
            for (ActiveSample s : r.samples) {
                float[] in = s.modelInput();
                for (int k = 0; k < s.image().rows(); k++, row++) {
                    System.arraycopy(in, 0, latents, row * latentSize, latentSize);
                    timesteps[row] = s.timestep();
                }
            }
        }
        long[] shape = {rows, 4, spec.height() / 8, spec.width() / 8};
        long t0 = System.nanoTime();
        float[] out = sd.unet().predict(latents, shape, timesteps, feeds.context, feeds.adapters);
        return new UNetCall(out, (System.nanoTime() - t0) / 1e6, rows);
    }

    private void rebuildFeeds() {
        if (feeds != null) {
            feeds.close();
            feeds = null;
        }
        feeds = BatchFeeds.build(sd.unet().session().environment(), pipeline.layout(), active, sd.unet().session().file());
        membershipChanged = false;
        feedBuilds++;
    }

    /** How often the per-row feeds were built (once per membership change), for tests. */
    int feedBuilds() {
        return feedBuilds;
    }

    /** A failed call leaves nothing consistent to continue from: every running request fails and leaves. */
    private List<FinishedRequest> failAll(RuntimeException e) {
        List<FinishedRequest> out = new ArrayList<>();
        for (ActiveRequest r : active) out.add(new FinishedRequest.Failed(r.request.id(), String.valueOf(e.getMessage()), e));
        active.clear();
        membershipChanged = true;
        started = false;
        return out;
    }

    @Override
    public void close() {
        if (feeds != null) feeds.close();
        feeds = null;
    }
}
