package dev.membrane.gateway.message;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;

import dev.membrane.gateway.outcome.Applied;
import dev.membrane.gateway.outcome.BatchTimings;
import dev.membrane.gateway.outcome.BoundedText;
import dev.membrane.gateway.outcome.ImageOut;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.OutputCheckReport;
import dev.membrane.gateway.outcome.Received;
import dev.membrane.policy.OutputCheck;
import dev.membrane.policy.Policy;

/**
 * Turns an {@link Outcome} into the records Membrane publishes: one result (when the request has an id), exactly
 * one audit record, and for malformed input a dead letter carrying the original bytes. JSON layouts are those of
 * {@code kafka/schemas/}. Thread-safe.
 */
public final class OutputRecords {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the audit record says about the serving side. */
    public record GatewayInfo(String instance, Map<String, ModelInfo> models) {
    }

    /** A served model and the SHA-256 of each of its ONNX files. */
    public record ModelInfo(String id, Map<String, String> fileSha256) {
    }

    /**
     * Topic names.
     *
     * @param attempts the compacted topic of the crash-loop breaker's marks
     */
    public record Topics(String requests, String results, String audit, String deadLetters, String attempts) {
        /** With the attempts topic named after the requests topic. */
        public Topics(String requests, String results, String audit, String deadLetters) {
            this(requests, results, audit, deadLetters, requests + ".attempts");
        }
    }

    private final Topics topics;
    private final GatewayInfo info;

    public OutputRecords(Topics topics, GatewayInfo info) {
        this.topics = topics;
        this.info = info;
    }

    /** Records of one outcome: result (unless duplicate or id unknown), audit, and the dead letter where its code says so. */
    public Topics topics() {
        return topics;
    }

    public List<ProducerRecord<String, byte[]>> records(Outcome o) {
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
        String key = key(o);
        if (o.publishesResult()) out.add(new ProducerRecord<>(topics.results(), key, bytes(result(o))));
        out.add(new ProducerRecord<>(topics.audit(), key, bytes(audit(o))));
        if (o.deadLetters()) out.add(deadLetter(o, true));
        return out;
    }

    /** The Kafka key of an outcome's records: the request id, else the input's position. */
    private static String key(Outcome o) {
        Received in = o.input();
        return o.requestId() != null ? o.requestId() : in.topic() + "-" + in.partition() + "-" + in.offset();
    }

    /**
     * The dead letter: the original value (unless {@code withValue} is false, for an original so large that the
     * dead-letter topic would refuse it) and headers saying why and where from, every header bounded.
     */
    public ProducerRecord<String, byte[]> deadLetter(Outcome o, boolean withValue) {
        Received in = o.input();
        ProducerRecord<String, byte[]> dlq = new ProducerRecord<>(topics.deadLetters(), null, withValue ? in.value() : null);
        dlq.headers().add(new RecordHeader("membrane.reason", (o.code() + ": " + o.message()).getBytes(StandardCharsets.UTF_8)));
        dlq.headers().add(new RecordHeader("membrane.original.topic", in.topic().getBytes(StandardCharsets.UTF_8)));
        dlq.headers().add(new RecordHeader("membrane.original.partition", Integer.toString(in.partition()).getBytes(StandardCharsets.UTF_8)));
        dlq.headers().add(new RecordHeader("membrane.original.offset", Long.toString(in.offset()).getBytes(StandardCharsets.UTF_8)));
        if (in.key() != null) {
            byte[] k = in.key().length <= BoundedText.QUOTE ? in.key() : java.util.Arrays.copyOf(in.key(), BoundedText.QUOTE);
            dlq.headers().add(new RecordHeader("membrane.original.key", k));
        }
        if (!withValue && in.value() != null) {
            dlq.headers().add(new RecordHeader("membrane.original.value-omitted",
                    (in.value().length + " bytes: over the dead-letter topic's limit; read it at the original offset").getBytes(StandardCharsets.UTF_8)));
        }
        return dlq;
    }

    ObjectNode result(Outcome o) {
        ObjectNode r = JSON.createObjectNode();
        r.put("requestId", o.requestId());
        r.put("status", o.status().name());
        ArrayNode images = r.putArray("images");
        for (ImageOut img : o.images()) {
            ObjectNode i = images.addObject();
            i.put("mediaType", "image/png");
            i.put("data", Base64.getEncoder().encodeToString(img.png()));
            i.put("sha256", img.sha256());
            i.put("width", img.width());
            i.put("height", img.height());
            i.put("seed", img.seed());
        }
        if (o.code() != null) {
            ObjectNode e = r.putObject("error");
            e.put("code", o.code().name());
            e.put("message", o.message());
        }
        if (o.outputCheck() != null) putOutputCheck(r, o, false);
        Policy p = o.decision() == null ? null : o.decision().policy();
        if (p != null) {
            ObjectNode pol = r.putObject("policy");
            pol.put("id", p.id());
            pol.put("version", p.version());
        } else {
            r.putNull("policy");
        }
        r.put("completedAt", Instant.ofEpochMilli(o.completedAtMs()).toString());
        return r;
    }

    ObjectNode audit(Outcome o) {
        ObjectNode a = JSON.createObjectNode();
        a.put("requestId", o.requestId());
        GenerationRequestMessage req = o.request();
        a.put("tenant", req != null ? req.tenant() : null);
        a.put("app", req != null ? req.app() : null);
        a.put("status", o.status().name());
        a.put("reason", o.code() == null ? null : o.code() + ": " + o.message());
        Policy p = o.decision() == null ? null : o.decision().policy();
        if (req != null) {
            a.put("promptSha256", sha256(req.prompt()));
            a.put("negativePromptSha256", sha256(req.negativePrompt()));
            if (p != null && p.storePrompts()) {
                a.put("prompt", req.prompt());
                a.put("negativePrompt", req.negativePrompt());
            }
        }
        if (p != null) {
            ObjectNode pol = a.putObject("policy");
            pol.put("id", p.id());
            pol.put("version", p.version());
            pol.put("sha256", p.sha256());
            a.put("stacking", p.stacking().id());
            // the same γ means γ·ΔW under linear and γ²·ΔW under official: say which, so γ can be read back
            a.put("gammaPower", p.stacking().gammaPower());
        } else {
            a.putNull("policy");
        }
        if (req != null) {
            ModelInfo m = info.models().get(req.model());
            ObjectNode model = a.putObject("model");
            model.put("id", req.model());
            ObjectNode files = model.putObject("files");
            if (m != null) m.fileSha256().forEach(files::put);
            a.put("scheduler", req.scheduler());
            a.put("steps", req.steps());
            a.put("guidanceScale", req.guidanceScale());
            a.put("seed", req.seed());
            a.put("numImages", req.numImages());
            a.put("width", req.width());
            a.put("height", req.height());
            if (req.deadlineMs() != GenerationRequestMessage.NO_DEADLINE) a.put("deadline", Instant.ofEpochMilli(req.deadlineMs()).toString());
        }
        ArrayNode adapters = a.putArray("adapters");
        for (Applied ad : o.adapters()) {
            ObjectNode n = adapters.addObject();
            n.put("concept", ad.concept());
            n.put("category", ad.category());
            n.put("sha256", ad.sha256());
            n.put("rank", ad.rank());
            putScore(n, "sf", ad.sf());
            putScore(n, "st", ad.st());
            n.put("gamma", ad.gamma());
        }
        if (o.outputCheck() != null) putOutputCheck(a, o, true);
        BatchTimings t = o.timings();
        if (t != null) {
            a.put("device", t.device());
            a.put("executionProvider", t.executionProvider());
            a.put("batchImages", t.batchImages());
            a.put("batchRequests", t.batchRequests());
        }
        a.put("gatewayInstance", info.instance());
        ObjectNode timings = a.putObject("timingsMs");
        if (t != null) {
            timings.put("queue", round(t.queueMs()));
            timings.put("textEncoding", round(t.textEncodingMs()));
            timings.put("denoising", round(t.denoisingMs()));
            timings.put("decoding", round(t.decodingMs()));
        }
        if (o.outputCheck() != null) timings.put("outputCheck", round(o.outputCheck().ms()));
        timings.put("total", round(o.completedAtMs() - o.input().receivedAtMs()));
        ArrayNode shas = a.putArray("imageSha256");
        o.images().forEach(i -> shas.add(i.sha256()));
        ObjectNode ts = a.putObject("timestamps");
        ts.put("recordTimestamp", Instant.ofEpochMilli(o.input().timestamp()).toString());
        ts.put("receivedAt", Instant.ofEpochMilli(o.input().receivedAtMs()).toString());
        ts.put("completedAt", Instant.ofEpochMilli(o.completedAtMs()).toString());
        ObjectNode src = a.putObject("source");
        src.put("topic", o.input().topic());
        src.put("partition", o.input().partition());
        src.put("offset", o.input().offset());
        return a;
    }

    /**
     * The audit record of a playground compare ({@code POST /api/compare}): the moderated image's outcome as the
     * gateway would audit it, with {@code source} saying it came from the playground and naming every image the
     * caller was shown, the unmoderated base image among them (a blocked outcome has none of its own).
     *
     * @param shown each image returned to the caller: role ({@code base}, {@code moderated}) to SHA-256
     */
    public ProducerRecord<String, byte[]> playgroundAudit(Outcome o, String caller, Map<String, String> shown) {
        ObjectNode a = audit(o);
        ObjectNode src = JSON.createObjectNode();
        src.put("kind", "playground");
        src.put("caller", caller);
        ArrayNode images = src.putArray("images");
        shown.forEach((role, sha) -> images.addObject().put("role", role).put("sha256", sha));
        a.set("source", src);
        return new ProducerRecord<>(topics.audit(), key(o), bytes(a));
    }

    /** The output check: classifier, overall action, and per image (request order) its scores and fired rules. */
    private static void putOutputCheck(ObjectNode parent, Outcome o, boolean audit) {
        OutputCheckReport report = o.outputCheck();
        ObjectNode oc = parent.putObject("outputCheck");
        oc.put("classifier", report.classifier());
        if (audit) oc.put("classifierSha256", report.classifierSha256());
        oc.put("action", report.action().id());
        ArrayNode images = oc.putArray("images");
        for (int i = 0; i < report.images().size(); i++) {
            OutputCheck.Verdict v = report.images().get(i);
            ObjectNode n = images.addObject();
            n.put("index", i);
            n.put("action", v.action().id());
            ObjectNode scores = n.putObject("scores");
            v.scores().forEach((label, score) -> putScore(scores, label, score));
            ArrayNode fired = n.putArray("fired");
            for (OutputCheck.Fired f : v.fired()) {
                ObjectNode fn = fired.addObject();
                fn.put("label", f.label());
                putScore(fn, "score", f.score());
                fn.put("threshold", f.threshold());
                fn.put("action", f.action().id());
            }
        }
    }

    private static void putScore(ObjectNode n, String field, double v) {
        if (Double.isNaN(v)) n.putNull(field);
        else n.put(field, v);
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    public static String sha256(byte[] data) {
        return dev.membrane.Hashes.sha256(data);
    }

    static String sha256(String text) {
        return dev.membrane.Hashes.sha256(text);
    }

    private static byte[] bytes(ObjectNode n) {
        try {
            return JSON.writeValueAsBytes(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
