package dev.membrane.gateway;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jboss.logging.MDC;

import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.outcome.Applied;
import dev.membrane.gateway.outcome.BatchTimings;
import dev.membrane.gateway.outcome.ErrorCode;
import dev.membrane.gateway.outcome.ImageOut;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.Outcomes;
import dev.membrane.policy.PolicyDecision;
import dev.membrane.serving.BatchingMode;
import dev.membrane.serving.DenoisingBatch;
import dev.membrane.serving.FinishedImage;
import dev.membrane.serving.FinishedRequest;
import dev.membrane.serving.PreparedRequest;
import dev.membrane.serving.RequestSpec;
import dev.membrane.spm.AdapterPipeline;

/**
 * One worker's running batch: work items are prepared alone (a bad one fails alone), joined to the
 * {@link DenoisingBatch}, stepped, and each finished item becomes its request's outcome (through the
 * {@link RequestAssembly} for requests split across batches). Not thread-safe: one worker thread owns it.
 */
final class WorkerLoop implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WorkerLoop.class.getName());

    /** An item in the batch and the most images and requests that shared its calls. */
    private static final class Running {
        final WorkItem item;
        final ServedModel model;
        final long prepareStartMs;
        int batchImages;
        int batchRequests;

        Running(WorkItem item, ServedModel model, long prepareStartMs) {
            this.item = item;
            this.model = model;
            this.prepareStartMs = prepareStartMs;
        }
    }

    private final Map<String, ServedModel> models;
    private final BatchingMode mode;
    private final int maxBatchImages;
    private final RequestAssembly assembly;
    private final GatewayMetrics metrics;
    private final Map<String, Running> running = new LinkedHashMap<>();
    private DenoisingBatch batch;
    private String batchModel;
    private int rowsCap;

    WorkerLoop(Map<String, ServedModel> models, BatchingMode mode, int maxBatchImages, RequestAssembly assembly, GatewayMetrics metrics) {
        this.models = models;
        this.mode = mode;
        this.maxBatchImages = maxBatchImages;
        this.assembly = assembly;
        this.metrics = metrics;
    }

    boolean idle() {
        return running.isEmpty();
    }

    /** UNet rows an item takes: 2 per guided image, 1 per unguided one. */
    static int rowsOf(WorkItem w) {
        return w.imageCount() * (w.request().guidanceScale() > 1.0 ? 2 : 1);
    }

    /** Most rows a batch holding this item may have: its memory budget. */
    private static int rowsCapOf(WorkItem w) {
        return w.maxImagesPerBatch() * (w.request().guidanceScale() > 1.0 ? 2 : 1);
    }

    /**
     * Whether the running batch has room for this item now (it is then taken from the queue): continuous mode only,
     * same model and size, rows within every member's budget.
     */
    boolean hasRoomFor(WorkItem w, int rowsAlreadyTaken) {
        if (batch == null || running.isEmpty() || mode != BatchingMode.CONTINUOUS) return false;
        if (!w.request().model().equals(batchModel)) return false;
        WorkItem first = running.values().iterator().next().item;
        if (first.request().width() != w.request().width() || first.request().height() != w.request().height()) return false;
        int after = batch.activeRows() + rowsAlreadyTaken + rowsOf(w);
        return after <= Math.min(rowsCap, rowsCapOf(w));
    }

    /** Prepares and admits items; returns the outcomes of those that end before any work (expired, not preparable). */
    List<Outcome> admit(List<WorkItem> items) {
        List<Outcome> out = new ArrayList<>();
        for (WorkItem w : items) {
            if (assembly.abandoned(w)) {
                assembly.offer(w, null);
                continue;
            }
            long now = System.currentTimeMillis();
            if (w.request().expiredAt(now)) {
                emit(out, w, Outcomes.expired(w.input(), w.request(), w.decision(), w.request().deadlineMs(), now));
                continue;
            }
            ServedModel model = models.get(w.request().model());
            if (running.isEmpty()) {
                // a new batch for each run: its row limit is the budget of the requests it starts with
                if (batch != null) batch.close();
                rowsCap = Math.min(2 * maxBatchImages, rowsCapOf(w));
                batch = new DenoisingBatch(model.pipeline(), mode, 2 * Math.min(maxBatchImages, w.maxImagesPerBatch()));
                batchModel = w.request().model();
            }
            PreparedRequest prepared;
            try {
                prepared = PreparedRequest.prepare(model.pipeline(), spec(w));
            } catch (RuntimeException e) {
                LOG.warning(w.input().position() + " cannot be generated: " + e.getMessage());
                emit(out, w, Outcomes.failed(w.input(), w.request(), w.decision(), ErrorCode.GENERATION_FAILED,
                        "request cannot be generated: " + e.getMessage(), System.currentTimeMillis()));
                continue;
            }
            if (!batch.canAdmit(prepared)) {
                // the batcher hands out only what fits; reaching this is a bug, and the request must not vanish
                emit(out, w, Outcomes.failed(w.input(), w.request(), w.decision(), ErrorCode.GENERATION_FAILED,
                        "internal: no room in the batch", System.currentTimeMillis()));
                continue;
            }
            batch.admit(prepared);
            rowsCap = Math.min(rowsCap, rowsCapOf(w));
            running.put(prepared.id(), new Running(w, model, now));
        }
        return out;
    }

    /** One step of the batch; the outcomes of requests it finishes. */
    List<Outcome> step() {
        List<Outcome> out = new ArrayList<>();
        if (running.isEmpty()) return out;
        int images = running.values().stream().mapToInt(r -> r.item.imageCount()).sum();
        for (Running r : running.values()) {
            r.batchImages = Math.max(r.batchImages, images);
            r.batchRequests = Math.max(r.batchRequests, running.size());
        }
        MDC.put("requestId", running.values().stream().map(r -> r.item.request().requestId()).toList().toString());
        long t0 = System.nanoTime();
        List<FinishedRequest> finished;
        try {
            finished = batch.step();
        } finally {
            MDC.remove("requestId");
        }
        metrics.batch(images, List.of((System.nanoTime() - t0) / 1e6));
        for (FinishedRequest f : finished) {
            Running r = running.remove(f.id());
            emit(out, r.item, outcome(r, f));
        }
        return out;
    }

    private void emit(List<Outcome> out, WorkItem w, Outcome part) {
        Outcome whole = assembly.offer(w, part);
        // the output check sees the whole request, however many batches its images took
        if (whole != null) out.add(OutputChecking.apply(whole, models.get(w.request().model()), metrics::outputCheck));
    }

    /** Every item to its end: admit all, step until none runs (tests, and the static mode's whole batch). */
    List<Outcome> runToEnd(List<WorkItem> items) {
        List<Outcome> out = new ArrayList<>(admit(items));
        while (!running.isEmpty()) out.addAll(step());
        return out;
    }

    private long admitted;

    /** Its id in the batch: unique per admission, whatever the items' sources. */
    private RequestSpec spec(WorkItem w) {
        var r = w.request();
        List<AdapterPipeline.AdapterRequest> adapters = new ArrayList<>();
        for (PolicyDecision.ResolvedAdapter a : w.decision().adapters()) adapters.add(new AdapterPipeline.AdapterRequest(a.file(), a.transport()));
        RequestSpec.Builder b = RequestSpec.builder(w.input().position() + "#" + w.firstImage() + "#" + admitted++)
                .size(r.width(), r.height()).steps(r.steps()).scheduler(SchedulerKind.parse(r.scheduler())).guidanceScale(r.guidanceScale())
                .stack(new AdapterPipeline.ImageStack(adapters, w.decision().policy().stacking()));
        for (int i = w.firstImage(); i < w.firstImage() + w.imageCount(); i++) {
            b.image(new ImageSpec(r.prompt(), r.negativePrompt(), r.seed() + i, r.guidanceScale()));
        }
        return b.build();
    }

    private Outcome outcome(Running r, FinishedRequest f) {
        WorkItem w = r.item;
        long done = System.currentTimeMillis();
        if (f instanceof FinishedRequest.Failed failed) {
            LOG.log(Level.WARNING, w.input().position() + " failed in its batch: " + failed.reason(), failed.cause());
            return Outcomes.failed(w.input(), w.request(), w.decision(), ErrorCode.GENERATION_FAILED, failed.reason(), done);
        }
        FinishedRequest.Completed c = (FinishedRequest.Completed) f;
        List<ImageOut> images = new ArrayList<>();
        for (FinishedImage img : c.images()) {
            images.add(new ImageOut(img.png(), OutputRecords.sha256(img.png()), img.width(), img.height(), img.spec().seed()));
        }
        // every image of a request carries its stack, and the prompt (hence each score) is the request's
        List<AdapterPipeline.Applied> scores = c.images().get(0).applied();
        List<PolicyDecision.ResolvedAdapter> resolved = w.decision().adapters();
        List<Applied> applied = new ArrayList<>();
        for (int a = 0; a < scores.size(); a++) {
            var s = scores.get(a);
            applied.add(new Applied(resolved.get(a).entry().id(), resolved.get(a).entry().category(), s.file().sha256(),
                    s.file().rank(), s.score().sf(), s.score().st(), s.score().gamma()));
        }
        var t = c.timings();
        var target = r.model.pipeline().pipeline().target();
        BatchTimings bt = new BatchTimings(r.prepareStartMs - w.receivedAtMs() + t.queueMs(), t.textEncodeMs(), t.denoiseMs(),
                t.decodeMs(), r.batchImages, r.batchRequests, target.device(), target.provider());
        return Outcomes.completed(w.input(), w.request(), w.decision(), images, applied, bt, done);
    }

    @Override
    public void close() {
        if (batch != null) batch.close();
        batch = null;
    }
}
