package dev.membrane.gateway.playground;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.evaluation.Images;
import dev.membrane.gateway.ServedModel;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.gateway.outcome.ErrorCode;
import dev.membrane.policy.PolicyStore;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.testing.TinyModel;

/**
 * The playground's compare on the tiny model with real adapters and a real policy file; the audit sink is a
 * recording fake (the Kafka one is ServeIT's).
 */
class PlaygroundTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RequestLimits LIMITS = new RequestLimits(500, 256, 256 * 256, 50, 4, 64, 4, 7.5, 30, "ddim", "tiny", Set.of("tiny"));
    private static ServedModel model;

    @BeforeAll
    static void open() {
        model = ServedModel.open("tiny", TinyModel.dir(), TinyModel.runtime(), 8);
    }

    /** Records what it is given; {@code gate} (if set) holds publish until released, {@code failure} makes it throw. */
    private static final class RecordingSink implements AuditSink {
        final List<ProducerRecord<String, byte[]>> published = new CopyOnWriteArrayList<>();
        final CountDownLatch entered = new CountDownLatch(1);
        volatile CountDownLatch gate;
        volatile RuntimeException failure;

        public void publish(ProducerRecord<String, byte[]> record) throws Exception {
            entered.countDown();
            if (gate != null) gate.await(60, TimeUnit.SECONDS);
            if (failure != null) throw failure;
            published.add(record);
        }
    }

    private static Playground playground(Path dir, AuditSink sink, int concurrency) throws Exception {
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, """
                version: "pg-1"
                defaultPolicy: cartoons
                policies:
                  cartoons:
                    storePrompts: true
                    concepts: [{id: snoopy, transport: {kind: fixed, gamma: 2.0}}]
                  strict:
                    promptCheck: {terms: [forbidden]}
                    concepts: [{id: snoopy}]
                tenants:
                  strict-tenant: {policy: strict}
                """);
        PolicyStore policies = PolicyStore.open(policy, AdapterCatalog.load(Path.of("adapters/catalog.json")));
        OutputRecords records = new OutputRecords(new OutputRecords.Topics("t.requests", "t.results", "t.audit", "t.dlq"),
                new OutputRecords.GatewayInfo("pg-test", Map.of("tiny", model.info())));
        return new Playground(Map.of("tiny", model), policies, LIMITS, ServedModel.unbudgeted(Map.of("tiny", model), 8), records, sink, concurrency);
    }

    private static CompareRequest request(String tenant, String prompt, Integer steps) {
        return new CompareRequest(tenant, "web", prompt, null, 11L, steps, null, null, null, null, null);
    }

    @Test
    void comparesBaseAndModeratedFromOneSeedAndAuditsBoth(@TempDir Path dir) throws Exception {
        RecordingSink sink = new RecordingSink();
        var done = (Comparison.Done) playground(dir, sink, 1).compare(request("acme", "a cartoon dog", 4), "test 127.0.0.1");
        assertEquals("COMPLETED", done.status());
        assertEquals("cartoons", done.policy());
        assertEquals(1, done.adapters().size());
        assertEquals("snoopy", done.adapters().get(0).concept());
        assertEquals(2.0, done.adapters().get(0).gamma(), 0.0, "fixed transport: gamma is the policy's");
        assertNotEquals(done.base().sha256(), done.moderated().sha256(), "the adapter changes the image");
        assertTrue(done.timingsMs().get("total") >= done.timingsMs().get("generation") + done.timingsMs().get("audit"), done.timingsMs().toString());

        // the base image is the model's own output for that seed without adapters (another run, one image per batch)
        var alone = model.pipeline().generate(new GenerationRequest(List.of(new ImageSpec("a cartoon dog", "", 11L)), 64, 64, 4, 7.5, SchedulerKind.DDIM),
                List.of(AdapterPipeline.ImageStack.none())).generation().images().get(0);
        assertTrue(meanAbsoluteDifference(Images.decodePng(alone.png()), Images.decodePng(done.base().png())) < 1.0,
                "base = no adapters, same seed");

        assertEquals(1, sink.published.size());
        ProducerRecord<String, byte[]> record = sink.published.get(0);
        assertEquals("t.audit", record.topic());
        assertEquals(done.requestId(), record.key());
        JsonNode audit = JSON.readTree(record.value());
        assertEquals(done.audit(), audit);
        assertEquals("playground", audit.get("source").get("kind").asText());
        assertEquals("test 127.0.0.1", audit.get("source").get("caller").asText());
        assertEquals(done.base().sha256(), audit.get("source").get("images").get(0).get("sha256").asText());
        assertEquals("base", audit.get("source").get("images").get(0).get("role").asText());
        assertEquals(done.moderated().sha256(), audit.get("source").get("images").get(1).get("sha256").asText());
        assertEquals(done.moderated().sha256(), audit.get("imageSha256").get(0).asText());
        assertEquals("a cartoon dog", audit.get("prompt").asText(), "storePrompts: true");
        assertEquals(2.0, audit.get("adapters").get(0).get("gamma").asDouble(), 0.0);
        assertEquals(11, audit.get("seed").asLong());
        dev.membrane.gateway.MessageSchemas.assertValid("audit.schema.json", audit);
    }

    private static double meanAbsoluteDifference(BufferedImage a, BufferedImage b) {
        double sum = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                int p = a.getRGB(x, y);
                int q = b.getRGB(x, y);
                for (int shift = 0; shift <= 16; shift += 8) sum += Math.abs(((p >> shift) & 255) - ((q >> shift) & 255));
            }
        }
        return sum / (a.getWidth() * a.getHeight() * 3.0);
    }

    @Test
    void oneMoreCompareThanTheLimitIsBusy(@TempDir Path dir) throws Exception {
        RecordingSink sink = new RecordingSink();
        sink.gate = new CountDownLatch(1);
        Playground playground = playground(dir, sink, 1);
        Thread first = new Thread(() -> playground.compare(request("acme", "a cartoon dog", 2), "first"));
        first.start();
        assertTrue(sink.entered.await(60, TimeUnit.SECONDS));
        Comparison second = playground.compare(request("acme", "a cartoon dog", 2), "second");
        assertEquals(new Comparison.Busy(1), second);
        sink.gate.countDown();
        first.join(60_000);
        assertTrue(playground.compare(request("acme", "a cartoon dog", 2), "third") instanceof Comparison.Done, "the slot is free again");
    }

    @Test
    void withoutAnAuditRecordNoImageIsReturned(@TempDir Path dir) throws Exception {
        RecordingSink sink = new RecordingSink();
        sink.failure = new IllegalStateException("broker away");
        Comparison c = playground(dir, sink, 1).compare(request("acme", "a cartoon dog", 2), "test");
        assertTrue(c instanceof Comparison.Unaudited u && u.message().contains("broker away"), c.toString());
    }

    @Test
    void invalidBodiesAreRefusedWithTheKafkaBoundsAndNotAudited(@TempDir Path dir) throws Exception {
        RecordingSink sink = new RecordingSink();
        Playground playground = playground(dir, sink, 1);
        Comparison tooMany = playground.compare(request("acme", "a cartoon dog", 1000), "test");
        assertEquals(ErrorCode.OUT_OF_BOUNDS, ((Comparison.Invalid) tooMany).code());
        assertTrue(((Comparison.Invalid) tooMany).message().contains("steps must be between 1 and 50"));
        assertEquals(ErrorCode.MISSING_FIELD, ((Comparison.Invalid) playground.compare(request("acme", null, 2), "test")).code());
        assertEquals(ErrorCode.MISSING_FIELD, ((Comparison.Invalid) playground.compare(null, "test")).code());
        assertTrue(sink.published.isEmpty());
    }

    @Test
    void aBlockedPromptGeneratesNothingAndIsAudited(@TempDir Path dir) throws Exception {
        RecordingSink sink = new RecordingSink();
        var done = (Comparison.Done) playground(dir, sink, 1).compare(request("strict-tenant", "a forbidden dog", 2), "test");
        assertEquals("REJECTED", done.status());
        assertEquals(ErrorCode.PROMPT_BLOCKED, done.code());
        assertNull(done.base());
        assertNull(done.moderated());
        JsonNode audit = JSON.readTree(sink.published.get(0).value());
        assertEquals("REJECTED", audit.get("status").asText());
        assertEquals(0, audit.get("source").get("images").size(), "no image was shown");
        dev.membrane.gateway.MessageSchemas.assertValid("audit.schema.json", audit);
    }
}
