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

    /** Topic names. */
    public record Topics(String requests, String results, String audit, String deadLetters) {
    }

    private final Topics topics;
    private final GatewayInfo info;

    public OutputRecords(Topics topics, GatewayInfo info) {
        this.topics = topics;
        this.info = info;
    }

    public List<ProducerRecord<String, byte[]>> records(Outcome o) {
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
        String key = o.requestId() != null ? o.requestId()
                : o.source().topic() + "-" + o.source().partition() + "-" + o.source().offset();
        if (o.requestId() != null) out.add(new ProducerRecord<>(topics.results(), key, bytes(result(o))));
        out.add(new ProducerRecord<>(topics.audit(), key, bytes(audit(o))));
        if (o.deadLetter()) {
            ProducerRecord<String, byte[]> dlq = new ProducerRecord<>(topics.deadLetters(), null, o.originalValue());
            dlq.headers().add(new RecordHeader("membrane.reason", (o.errorCode() + ": " + o.errorMessage()).getBytes(StandardCharsets.UTF_8)));
            dlq.headers().add(new RecordHeader("membrane.original.topic", o.source().topic().getBytes(StandardCharsets.UTF_8)));
            dlq.headers().add(new RecordHeader("membrane.original.partition", Integer.toString(o.source().partition()).getBytes(StandardCharsets.UTF_8)));
            dlq.headers().add(new RecordHeader("membrane.original.offset", Long.toString(o.source().offset()).getBytes(StandardCharsets.UTF_8)));
            if (o.originalKey() != null) dlq.headers().add(new RecordHeader("membrane.original.key", o.originalKey()));
            out.add(dlq);
        }
        return out;
    }

    ObjectNode result(Outcome o) {
        ObjectNode r = JSON.createObjectNode();
        r.put("requestId", o.requestId());
        r.put("status", o.status().name());
        ArrayNode images = r.putArray("images");
        for (Outcome.ImageOut img : o.images()) {
            ObjectNode i = images.addObject();
            i.put("mediaType", "image/png");
            i.put("data", Base64.getEncoder().encodeToString(img.png()));
            i.put("sha256", img.sha256());
            i.put("width", img.width());
            i.put("height", img.height());
            i.put("seed", img.seed());
        }
        if (o.status() != Outcome.Status.COMPLETED) {
            ObjectNode e = r.putObject("error");
            e.put("code", o.errorCode());
            e.put("message", o.errorMessage());
        }
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
        a.put("reason", o.status() == Outcome.Status.COMPLETED ? null : o.errorCode() + ": " + o.errorMessage());
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
        }
        ArrayNode adapters = a.putArray("adapters");
        for (Outcome.AppliedAdapterOut ad : o.adapters()) {
            ObjectNode n = adapters.addObject();
            n.put("concept", ad.concept());
            n.put("category", ad.category());
            n.put("sha256", ad.sha256());
            n.put("rank", ad.rank());
            putScore(n, "sf", ad.sf());
            putScore(n, "st", ad.st());
            n.put("gamma", ad.gamma());
        }
        Outcome.BatchTimings t = o.timings();
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
        timings.put("total", round(o.completedAtMs() - o.receivedAtMs()));
        ArrayNode shas = a.putArray("imageSha256");
        o.images().forEach(i -> shas.add(i.sha256()));
        ObjectNode ts = a.putObject("timestamps");
        ts.put("recordTimestamp", Instant.ofEpochMilli(o.source().timestamp()).toString());
        ts.put("receivedAt", Instant.ofEpochMilli(o.receivedAtMs()).toString());
        ts.put("completedAt", Instant.ofEpochMilli(o.completedAtMs()).toString());
        ObjectNode src = a.putObject("source");
        src.put("topic", o.source().topic());
        src.put("partition", o.source().partition());
        src.put("offset", o.source().offset());
        return a;
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
