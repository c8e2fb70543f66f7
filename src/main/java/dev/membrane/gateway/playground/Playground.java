package dev.membrane.gateway.playground;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.GenerationResult;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.evaluation.Images;
import dev.membrane.gateway.OutputChecking;
import dev.membrane.gateway.ServedModel;
import dev.membrane.gateway.WorkItem;
import dev.membrane.gateway.admission.Admission;
import dev.membrane.gateway.admission.RecentRequests;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.gateway.message.RequestParser;
import dev.membrane.gateway.outcome.Applied;
import dev.membrane.gateway.outcome.BatchTimings;
import dev.membrane.gateway.outcome.ImageOut;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.Outcomes;
import dev.membrane.gateway.outcome.Received;
import dev.membrane.policy.OutputCheck;
import dev.membrane.policy.PolicyDecision;
import dev.membrane.policy.PolicyStore;
import dev.membrane.safety.ImageClassifier;
import dev.membrane.spm.AdapterPipeline;

/**
 * The policy playground's compare: one prompt and seed generated twice in one batch, without adapters and with
 * the stack its tenant and app's policy selects, so a policy author sees what the policy changes.
 *
 * <p>The request goes through the gateway's own {@link Admission} (bounds, defaults, policy, prompt check,
 * classifier, slots, memory budget) and the moderated image through its own output check, so the playground
 * cannot disagree with Kafka. Because it returns an unmoderated image, every compare that gets past validation is
 * audited, and its images are returned only once the audit record is acknowledged. At most {@code concurrency}
 * compares run at once; the one more is refused at once ({@link Comparison.Busy}), so the playground cannot take the
 * workers' cores from the Kafka path for long. Thread-safe.
 */
public final class Playground {
    private static final Logger LOG = Logger.getLogger(Playground.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, ServedModel> models;
    private final Admission admission;
    private final OutputRecords records;
    private final AuditSink audit;
    private final Semaphore running;
    private final int concurrency;

    /**
     * @param capacities the gateway's own view of each model (slots, memory budget)
     * @param records    the gateway's record layouts (its topics and instance)
     * @param audit      where audit records go
     */
    public Playground(Map<String, ServedModel> models, PolicyStore policies, RequestLimits limits, Map<String, Admission.ModelCapacity> capacities,
                      OutputRecords records, AuditSink audit, int concurrency) {
        if (concurrency < 1) throw new IllegalArgumentException("compare concurrency must be at least 1, got " + concurrency);
        this.models = Map.copyOf(models);
        Map<String, String> classifiers = new LinkedHashMap<>();
        models.forEach((id, m) -> {
            if (m.classifier() != null) classifiers.put(id, m.classifier().card().id());
        });
        // its own duplicate window: playground ids are fresh UUIDs; no deaths are counted (poisonAfter never reached)
        this.admission = new Admission(new RequestParser(limits), policies, capacities, classifiers, new RecentRequests(64, 60_000), Integer.MAX_VALUE);
        this.records = records;
        this.audit = audit;
        this.running = new Semaphore(concurrency);
        this.concurrency = concurrency;
    }

    /** @param caller who asked (the HTTP peer), for the audit record */
    public Comparison compare(CompareRequest body, String caller) {
        if (!running.tryAcquire()) return new Comparison.Busy(concurrency);
        try {
            return run(body, caller);
        } finally {
            running.release();
        }
    }

    private Comparison run(CompareRequest body, String caller) {
        long t0 = System.nanoTime();
        long now = System.currentTimeMillis();
        String id = "playground-" + UUID.randomUUID();
        Received in = new Received("playground", 0, -1, now, 0, null, requestJson(id, body), now);
        Admission.Result admitted = admission.admit(in, 0, now);
        if (admitted instanceof Admission.Refused refused) {
            Outcome o = refused.outcome();
            // unreadable or out of bounds: nothing ran, as a 400 says
            if (o.request() == null) return new Comparison.Invalid(o.code(), o.message());
            return audited(o, caller, null, null, null, Map.of(), t0);
        }
        WorkItem work = ((Admission.Admitted) admitted).item();
        try {
            return generate(work, caller, t0);
        } finally {
            admission.recent().finished(0, id, true, System.currentTimeMillis());
        }
    }

    private Comparison generate(WorkItem work, String caller, long t0) {
        var req = work.request();
        PolicyDecision decision = work.decision();
        ServedModel model = models.get(req.model());
        List<AdapterPipeline.AdapterRequest> stack = decision.adapters().stream()
                .map(a -> new AdapterPipeline.AdapterRequest(a.file(), a.transport())).toList();
        AdapterPipeline.ImageStack moderatedStack = new AdapterPipeline.ImageStack(stack, decision.policy().stacking());
        ImageSpec spec = new ImageSpec(req.prompt(), req.negativePrompt(), req.seed());
        SchedulerKind scheduler = SchedulerKind.parse(req.scheduler());
        long g0 = System.nanoTime();
        GenerationResult.GeneratedImage base;
        GenerationResult.GeneratedImage moderated;
        List<AdapterPipeline.Applied> scores;
        GenerationResult.StageTimings timings;
        if (work.maxImagesPerBatch() >= 2) {
            // one batch: the same noise, the same UNet calls, only the adapter rows differ
            var r = model.pipeline().generate(new GenerationRequest(List.of(spec, spec), req.width(), req.height(), req.steps(), req.guidanceScale(), scheduler),
                    List.of(AdapterPipeline.ImageStack.none(), moderatedStack));
            base = r.generation().images().get(0);
            moderated = r.generation().images().get(1);
            scores = r.applied().get(1);
            timings = r.generation().timings();
        } else {
            // the memory budget holds one image at a time: two runs, same seed
            GenerationRequest one = new GenerationRequest(List.of(spec), req.width(), req.height(), req.steps(), req.guidanceScale(), scheduler);
            base = model.pipeline().generate(one, List.of(AdapterPipeline.ImageStack.none())).generation().images().get(0);
            var r = model.pipeline().generate(one, List.of(moderatedStack));
            moderated = r.generation().images().get(0);
            scores = r.applied().get(0);
            timings = r.generation().timings();
        }
        double generationMs = ms(g0);
        List<Applied> applied = new ArrayList<>();
        for (int a = 0; a < scores.size(); a++) {
            var s = scores.get(a);
            var entry = decision.adapters().get(a).entry();
            applied.add(new Applied(entry.id(), entry.category(), s.file().sha256(), s.file().rank(), s.score().sf(), s.score().st(), s.score().gamma()));
        }
        var target = model.pipeline().pipeline().target();
        BatchTimings bt = new BatchTimings(0, timings.textEncodeMs(), timings.denoiseMs(), timings.decodeMs() + timings.pngMs(), 2, 1,
                target.device(), target.provider());
        ImageOut moderatedOut = new ImageOut(moderated.png(), OutputRecords.sha256(moderated.png()), moderated.width(), moderated.height(), req.seed());
        Outcome.Completed completed = Outcomes.completed(work.input(), req, decision, List.of(moderatedOut), applied, bt, System.currentTimeMillis());
        long c0 = System.nanoTime();
        // playground checks are not the gateway's traffic: not counted in its metrics
        Outcome checked = OutputChecking.apply(completed, model, (check, verdict) -> {
        });
        Comparison.Check check = null;
        if (checked.outputCheck() != null) {
            check = new Comparison.Check(checked.outputCheck().classifier(), judgeBase(decision.policy().outputCheck(), model.classifier(), base.png()),
                    checked.outputCheck().images().get(0));
        }
        Map<String, Double> timingsMs = new LinkedHashMap<>();
        timingsMs.put("generation", generationMs);
        timingsMs.put("textEncoding", timings.textEncodeMs());
        timingsMs.put("denoising", timings.denoiseMs());
        timingsMs.put("decoding", timings.decodeMs() + timings.pngMs());
        if (check != null) timingsMs.put("outputCheck", ms(c0));
        if (checked instanceof Outcome.Failed) {
            // fail closed: a check that could not run shows nothing, the base image included
            return audited(checked, caller, null, null, check, timingsMs, t0);
        }
        Comparison.Image baseImage = new Comparison.Image(base.png(), OutputRecords.sha256(base.png()));
        Comparison.Image moderatedImage = new Comparison.Image(moderated.png(), moderatedOut.sha256());
        return audited(checked, caller, baseImage, moderatedImage, check, timingsMs, t0);
    }

    /** The base image judged by the policy's rules, for display only: nothing is published by it. */
    private static OutputCheck.Verdict judgeBase(OutputCheck rules, ImageClassifier classifier, byte[] png) {
        try {
            return rules.judge(classifier.classifyForCheck(List.of(Images.decodePng(png))).get(0).byLabel());
        } catch (RuntimeException e) {
            LOG.warning("playground: the base image's output check failed: " + e);
            return null;
        }
    }

    /** @param t0 when the compare began ({@code System.nanoTime()}): {@code total} runs from it to the acknowledged audit record */
    private Comparison audited(Outcome o, String caller, Comparison.Image base, Comparison.Image moderated, Comparison.Check check,
                               Map<String, Double> timingsMs, long t0) {
        Map<String, String> shown = new LinkedHashMap<>();
        if (base != null) shown.put("base", base.sha256());
        if (moderated != null) shown.put("moderated", moderated.sha256());
        ProducerRecord<String, byte[]> record = records.playgroundAudit(o, caller, shown);
        long a0 = System.nanoTime();
        try {
            audit.publish(record);
        } catch (Exception e) {
            LOG.severe("playground " + o.requestId() + ": audit record not written, no image returned: " + e);
            return new Comparison.Unaudited(o.requestId(), "the audit record could not be written (" + e.getMessage() + "); no image is returned");
        }
        Map<String, Double> t = new LinkedHashMap<>(timingsMs);
        t.put("audit", ms(a0));
        t.put("total", ms(t0));
        var req = o.request();
        PolicyRef p = new PolicyRef(o.decision());
        try {
            return new Comparison.Done(o.requestId(), o.status().name(), o.code(), o.message(), p.id, p.version, req.model(), req.seed(), req.steps(),
                    req.width(), req.height(), base, moderated, o.adapters(), check, t, JSON.readTree(record.value()));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("our own audit record does not parse", e);
        }
    }

    private record PolicyRef(String id, String version) {
        PolicyRef(PolicyDecision d) {
            this(d == null || d.policy() == null ? null : d.policy().id(), d == null || d.policy() == null ? null : d.policy().version());
        }
    }

    /** The body as a Kafka request would carry it, so the same parser applies the same defaults and bounds. */
    static byte[] requestJson(String id, CompareRequest b) {
        ObjectNode n = JSON.createObjectNode();
        n.put("requestId", id);
        if (b == null) return n.toString().getBytes(StandardCharsets.UTF_8);
        putIf(n, "tenant", b.tenant());
        putIf(n, "app", b.app());
        putIf(n, "prompt", b.prompt());
        putIf(n, "negativePrompt", b.negativePrompt());
        if (b.seed() != null) n.put("seed", b.seed());
        if (b.steps() != null) n.put("steps", b.steps());
        if (b.width() != null) n.put("width", b.width());
        if (b.height() != null) n.put("height", b.height());
        if (b.guidanceScale() != null) n.put("guidanceScale", b.guidanceScale());
        putIf(n, "scheduler", b.scheduler());
        putIf(n, "model", b.model());
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void putIf(ObjectNode n, String field, String value) {
        if (value != null) n.put(field, value);
    }

    private static double ms(long startNanos) {
        return Math.round((System.nanoTime() - startNanos) / 1e4) / 100.0;
    }
}
