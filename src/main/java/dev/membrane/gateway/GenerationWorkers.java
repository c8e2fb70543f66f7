package dev.membrane.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jboss.logging.MDC;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.GenerationResult;
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
import dev.membrane.spm.AdapterPipeline;

/**
 * Worker threads that take batches from the {@link Batcher}, run them on the served model (one denoising run per
 * batch, every request with its own adapter stack) and hand each request's outcome to {@code sink}. A request past
 * its deadline when taken ends {@code EXPIRED} without generation.
 */
final class GenerationWorkers {
    private static final Logger LOG = Logger.getLogger(GenerationWorkers.class.getName());
    private final Batcher batcher;
    private final Map<String, ServedModel> models;
    private final Consumer<Outcome> sink;
    private final GatewayMetrics metrics;
    private final List<Thread> threads = new ArrayList<>();
    private final RequestAssembly assembly = new RequestAssembly();

    GenerationWorkers(Batcher batcher, Map<String, ServedModel> models, Consumer<Outcome> sink, GatewayMetrics metrics) {
        this.batcher = batcher;
        this.models = models;
        this.sink = sink;
        this.metrics = metrics;
    }

    void start(int count) {
        for (int i = 0; i < count; i++) {
            Thread t = new Thread(this::run, "membrane-worker-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run() {
        while (true) {
            List<WorkItem> batch;
            try {
                batch = batcher.take();
            } catch (InterruptedException e) {
                return;
            }
            if (batch.isEmpty()) return;
            for (Outcome o : process(batch)) sink.accept(o);
        }
    }

    /** Waits for the workers to finish their current batches after {@link Batcher#close()}. */
    void join(long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        for (Thread t : threads) t.join(Math.max(1, deadline - System.currentTimeMillis()));
    }

    boolean stopped() {
        return threads.stream().noneMatch(Thread::isAlive);
    }

    void interrupt() {
        threads.forEach(Thread::interrupt);
    }

    /**
     * What would fail this request inside a shared batch, found before batching so that it fails alone: its prompts
     * must tokenize and its adapter stack must fit the prepared UNet's slots and sites. Null when fine.
     */
    static String problemAlone(ServedModel model, WorkItem w) {
        try {
            model.pipeline().pipeline().promptEncoder().tokenize(List.of(w.request().prompt(), w.request().negativePrompt()));
            var stacking = w.decision().policy().stacking();
            List<dev.membrane.spm.SpmFile> files = w.decision().adapters().stream().map(PolicyDecision.ResolvedAdapter::file).toList();
            int needed = stacking.slotsNeeded(files.stream().map(dev.membrane.spm.SpmFile::rank).toList());
            if (needed > model.slots()) {
                return "the stack needs " + needed + " rank-1 slots but the prepared UNet has " + model.slots() + " (prepare it with more --slots)";
            }
            if (stacking == dev.membrane.spm.StackingMode.OFFICIAL && dev.membrane.spm.AdapterSlots.officialMismatch(files) >= 0) {
                return "official stacking needs one rank and alpha across the stack";
            }
            files.forEach(model.pipeline()::validate);
            return null;
        } catch (RuntimeException e) {
            return "request cannot be generated: " + e.getMessage();
        }
    }

    /** Generates a batch and returns the outcomes of the requests it finishes (a split request's with its last part). */
    List<Outcome> process(List<WorkItem> taken) {
        List<WorkItem> live = taken.stream().filter(w -> !assembly.abandoned(w)).toList();
        Outcome[] parts = generate(live);
        List<Outcome> out = new ArrayList<>();
        for (WorkItem skipped : taken) {
            // parts of a request a failed part already ended: accounted for, not generated
            if (!live.contains(skipped)) assembly.offer(skipped, null);
        }
        for (int i = 0; i < live.size(); i++) {
            Outcome whole = assembly.offer(live.get(i), parts[i]);
            if (whole != null) out.add(whole);
        }
        return out;
    }

    /** The outcome of each item, in order; a split item's covers its own images only. */
    private Outcome[] generate(List<WorkItem> taken) {
        long start = System.currentTimeMillis();
        Outcome[] out = new Outcome[taken.size()];
        List<Integer> batch = new ArrayList<>();
        for (int k = 0; k < taken.size(); k++) {
            WorkItem w = taken.get(k);
            if (w.request().expiredAt(start)) {
                out[k] = Outcomes.expired(w.input(), w.request(), w.decision(), w.request().deadlineMs(), start);
                continue;
            }
            String problem = problemAlone(models.get(w.request().model()), w);
            if (problem != null) out[k] = Outcomes.failed(w.input(), w.request(), w.decision(), ErrorCode.GENERATION_FAILED, problem, start);
            else batch.add(k);
        }
        if (batch.isEmpty()) return out;
        WorkItem first = taken.get(batch.get(0));
        ServedModel model = models.get(first.request().model());
        List<ImageSpec> images = new ArrayList<>();
        List<AdapterPipeline.ImageStack> stacks = new ArrayList<>();
        for (int k : batch) {
            WorkItem w = taken.get(k);
            List<AdapterPipeline.AdapterRequest> adapters = new ArrayList<>();
            for (PolicyDecision.ResolvedAdapter a : w.decision().adapters()) adapters.add(new AdapterPipeline.AdapterRequest(a.file(), a.transport()));
            for (int i = w.firstImage(); i < w.firstImage() + w.imageCount(); i++) {
                images.add(new ImageSpec(w.request().prompt(), w.request().negativePrompt(), w.request().seed() + i,
                        w.request().guidanceScale()));
                stacks.add(new AdapterPipeline.ImageStack(adapters, w.decision().policy().stacking()));
            }
        }
        try {
            MDC.put("requestId", batch.stream().map(k -> taken.get(k).request().requestId()).toList().toString());
            var req = first.request();
            GenerationRequest g = new GenerationRequest(images, req.width(), req.height(), req.steps(), req.guidanceScale(),
                    SchedulerKind.parse(req.scheduler()));
            AdapterPipeline.Result result = model.pipeline().generate(g, stacks);
            GenerationResult.StageTimings t = result.generation().timings();
            metrics.batch(images.size(), t.unetCallMs());
            long done = System.currentTimeMillis();
            int index = 0;
            for (int k : batch) {
                WorkItem w = taken.get(k);
                List<ImageOut> imgs = new ArrayList<>();
                for (int i = 0; i < w.imageCount(); i++, index++) {
                    GenerationResult.GeneratedImage img = result.generation().images().get(index);
                    imgs.add(new ImageOut(img.png(), OutputRecords.sha256(img.png()), img.width(), img.height(), img.spec().seed()));
                }
                List<Applied> applied = new ArrayList<>();
                List<AdapterPipeline.Applied> scores = result.applied().get(index - 1);
                List<PolicyDecision.ResolvedAdapter> resolved = w.decision().adapters();
                for (int a = 0; a < scores.size(); a++) {
                    var sc = scores.get(a);
                    applied.add(new Applied(resolved.get(a).entry().id(), resolved.get(a).entry().category(),
                            sc.file().sha256(), sc.file().rank(), sc.score().sf(), sc.score().st(), sc.score().gamma()));
                }
                BatchTimings bt = new BatchTimings(start - w.receivedAtMs(), t.tokenizeMs() + t.textEncodeMs(),
                        t.denoiseMs(), t.decodeMs() + t.pngMs(), images.size(), batch.size(),
                        model.pipeline().pipeline().target().device(), model.pipeline().pipeline().target().provider());
                out[k] = Outcomes.completed(w.input(), w.request(), w.decision(), imgs, applied, bt, done);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "batch of " + batch.size() + " requests failed: " + e.getMessage(), e);
            long done = System.currentTimeMillis();
            for (int k : batch) {
                WorkItem w = taken.get(k);
                out[k] = Outcomes.failed(w.input(), w.request(), w.decision(), ErrorCode.GENERATION_FAILED, String.valueOf(e.getMessage()), done);
            }
        } finally {
            MDC.remove("requestId");
        }
        return out;
    }
}
