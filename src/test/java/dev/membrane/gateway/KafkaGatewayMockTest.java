package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.gateway.publish.TopicLimits;
import dev.membrane.spm.catalog.AdapterCatalog;

/**
 * The Kafka loop against Kafka's MockConsumer and MockProducer: publishing classes (record refusal, abortable,
 * fatal), duplicates, deadlines, poison pills, rebalance and pause/resume, with the tiny model generating for real.
 */
class KafkaGatewayMockTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final OutputRecords.Topics TOPICS = new OutputRecords.Topics("in", "results", "audit", "dlq", "attempts");
    private final MockKafka kafka = new MockKafka("in", "attempts", 2);
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private KafkaGateway gateway;

    private KafkaGateway start(Path dir, int maxInFlight) throws Exception {
        return start(dir, maxInFlight, 90_000);
    }

    private KafkaGateway start(Path dir, int maxInFlight, long loopStallMs) throws Exception {
        return start(dir, maxInFlight, loopStallMs, ServedModel.unbudgeted(Map.of("tiny", GatewayHarness.model()), 8));
    }

    private KafkaGateway start(Path dir, int maxInFlight, long loopStallMs, Map<String, dev.membrane.gateway.admission.Admission.ModelCapacity> capacities)
            throws Exception {
        RequestLimits limits = new RequestLimits(500, 256, 256 * 256, 50, 4, 64, 4, 7.5, 30, "ddim", "tiny", Set.of("tiny"));
        GatewaySettings s = GatewaySettings.builder("mock:9092", TOPICS, limits).instanceId("mock").maxBatchWaitMs(0)
                .maxInFlight(maxInFlight).publishMaxAttempts(5).loopStallMs(loopStallMs).build();
        var policies = GatewayHarness.policies(dir, AdapterCatalog.load(Path.of("adapters/catalog.json")));
        gateway = new KafkaGateway(s, Map.of("tiny", GatewayHarness.model()), capacities, policies, new GatewayMetrics(registry), kafka);
        gateway.start();
        return gateway;
    }

    @AfterEach
    void stop() {
        if (gateway != null) gateway.closeAbruptly();
    }

    private static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        while (!done.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    private List<JsonNode> json(String topic) {
        return kafka.committed(topic).stream().map(r -> {
            try {
                return JSON.readTree(r.value());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).toList();
    }

    /** A topic's committed records by requestId (the last one of each). */
    private Map<String, JsonNode> byId(String topic) {
        Map<String, JsonNode> out = new java.util.HashMap<>();
        json(topic).forEach(r -> out.put(r.get("requestId").asText(), r));
        return out;
    }

    private static String request(String id, int images) {
        return "{\"requestId\":\"" + id + "\",\"tenant\":\"t\",\"prompt\":\"a cat\",\"seed\":1,\"steps\":2,\"numImages\":" + images + "}";
    }

    private double completedCount() {
        var c = registry.find("membrane.requests").tag("status", "COMPLETED").counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void aResultOverItsTopicsLimitFailsAloneWithoutImagesAndTheOtherPartitionFlows(@TempDir Path dir) throws Exception {
        start(dir, 32);
        // one image's result fits, four images' do not
        kafka.limits = topic -> topic.equals("results") ? 40_000 : TopicLimits.BROKER_DEFAULT;
        kafka.assign(0, 1);
        kafka.add(0, 0, "big", request("big", 4));
        kafka.add(1, 0, "small", request("small", 1));
        await(() -> json("results").size() == 2, "two results");
        JsonNode big = byId("results").get("big");
        JsonNode small = byId("results").get("small");
        assertEquals("FAILED", big.get("status").asText());
        assertEquals("OUTPUT_TOO_LARGE", big.get("error").get("code").asText());
        assertEquals(0, big.get("images").size(), "no image bytes");
        assertEquals("COMPLETED", small.get("status").asText());
        MessageSchemas.assertValid("result.schema.json", big);
        List<ProducerRecord<String, byte[]>> dlq = kafka.committed("dlq");
        assertEquals(1, dlq.size());
        assertTrue(dlq.get(0).value().length < 1000, "the dead letter carries the request, not the images");
        assertEquals(1.0, completedCount(), "only the published COMPLETED is counted");
    }

    @Test
    void aRecordTheBrokerRefusesIsConvertedAndTheOthersArePublishedAtOnce(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.brokerRefuses(r -> r.topic().equals("results") && r.key().equals("huge") && r.value().length > 5_000);
        kafka.assign(0, 1);
        kafka.add(0, 0, "huge", request("huge", 2));
        kafka.add(1, 0, "fine", request("fine", 1));
        await(() -> json("results").size() == 2, "two results");
        Map<String, JsonNode> byId = byId("results");
        assertEquals("OUTPUT_TOO_LARGE", byId.get("huge").get("error").get("code").asText());
        assertEquals("COMPLETED", byId.get("fine").get("status").asText());
        assertTrue(kafka.producer.transactionAborted() || kafka.producer.commitCount() >= 1);
        assertTrue(gateway.live());
    }

    @Test
    void anAbortableFailureIsRetriedAndCountsNothingUntilPublished(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.producer.commitTransactionException = new TimeoutException("broker away");
        kafka.assign(0);
        kafka.add(0, 0, "r1", request("r1", 1));
        await(() -> kafka.producer.transactionAborted(), "an aborted transaction");
        Thread.sleep(300);
        assertEquals(0.0, completedCount(), "not published, not completed");
        assertTrue(json("results").isEmpty());
        kafka.producer.commitTransactionException = null;
        await(() -> json("results").size() == 1, "the result after the retry");
        assertEquals(1.0, completedCount());
        assertTrue(gateway.live());
    }

    /** A broker outage longer than the transaction timeout fences the producer; nothing else holds the id. */
    @Test
    void aFencedProducerIsReplacedOnceAndPublishingGoesOn(@TempDir Path dir) throws Exception {
        assertProducerReplacedAfter(dir, MockKafka.RefusingProducer::fenceProducer);
    }

    /**
     * After an outage past the transaction timeout the coordinator may answer INVALID_TXN_STATE rather than fence the
     * producer; the client then holds that as a fatal error, so retrying with the same producer can never succeed.
     */
    @Test
    void aProducerInAnInvalidTransactionStateIsReplacedAndPublishingGoesOn(@TempDir Path dir) throws Exception {
        assertProducerReplacedAfter(dir, p -> p.beginTransactionException = new KafkaException(
                "Cannot execute transactional method because we are in an error state",
                new InvalidTxnStateException("The producer attempted a transactional operation in an invalid state.")));
    }

    /** One result published, then {@code breakIt} on its producer: the next result must come out through a new one. */
    private void assertProducerReplacedAfter(Path dir, Consumer<MockKafka.RefusingProducer> breakIt) throws Exception {
        start(dir, 32);
        kafka.assign(0);
        kafka.add(0, 0, "r1", request("r1", 1));
        await(() -> json("results").size() == 1, "the first result");
        var first = kafka.producer;
        breakIt.accept(first);
        kafka.add(0, 1, "r2", request("r2", 1));
        await(() -> json("results").size() == 2, "the second result, through a new producer");
        assertTrue(first.closed() && kafka.producer != first, "the broken producer was replaced");
        assertEquals(2, json("audit").size());
        assertTrue(gateway.live(), String.valueOf(gateway.fatal()));
    }

    /** Fenced again by the new producer at once: another instance holds the id, and this one stops. */
    @Test
    void fencingThatANewProducerDoesNotCureIsFatalAndFailsLiveness(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.assign(0);
        kafka.add(0, 0, "r1", request("r1", 1));
        await(() -> json("results").size() == 1, "the first result");
        kafka.nextProducerFenced = true;
        kafka.producer.fenceProducer();
        kafka.add(0, 1, "r2", request("r2", 1));
        await(() -> !gateway.live(), "liveness to fail");
        assertNotNull(gateway.fatal());
        assertTrue(gateway.fatal().contains("fenced") || gateway.fatal().contains("Fenced"), gateway.fatal());
        assertFalse(gateway.ready());
        assertEquals(1, json("results").size());
    }

    @Test
    void aDuplicateIdIsAuditedOnlyAndNeverSupersedesTheFirst(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.assign(0);
        kafka.add(0, 0, "same", request("same", 1));
        // a malformed record reusing the id, then a valid one
        kafka.add(0, 1, "same", "{\"requestId\":\"same\",\"prompt\":\"x\",\"width\":65}");
        kafka.add(0, 2, "same", request("same", 1));
        await(() -> json("audit").size() == 3, "three audit records");
        List<JsonNode> results = json("results");
        assertEquals(1, results.size(), "one result for the id");
        assertEquals("COMPLETED", results.get(0).get("status").asText());
        List<String> statuses = json("audit").stream().map(a -> a.get("status").asText()).sorted().toList();
        assertEquals(List.of("COMPLETED", "DUPLICATE", "DUPLICATE"), statuses);
        json("audit").forEach(a -> MessageSchemas.assertValid("audit.schema.json", a));
        assertTrue(kafka.committed("dlq").isEmpty());
    }

    /**
     * Starts the gateway on {@code model} under one policy that blocks on the test classifier's always-firing label,
     * that classifier's card loaded (by {@code model} or, for the store, by another model).
     */
    private void startChecked(Path dir, ServedModel model, dev.membrane.safety.ClassifierCard card) throws Exception {
        RequestLimits limits = new RequestLimits(500, 256, 256 * 256, 50, 4, 64, 4, 7.5, 30, "ddim", "tiny", Set.of("tiny"));
        GatewaySettings s = GatewaySettings.builder("mock:9092", TOPICS, limits).instanceId("mock").maxBatchWaitMs(0).build();
        Path policy = dir.resolve("policy.yaml");
        java.nio.file.Files.writeString(policy, """
                version: "1"
                defaultPolicy: checked
                policies:
                  checked: {concepts: [], outputCheck: {classifier: test-always, rules: {always: {threshold: 0.5, action: block}}}}
                """);
        var policies = dev.membrane.policy.PolicyStore.open(policy, AdapterCatalog.load(Path.of("adapters/catalog.json")), Map.of(card.id(), card));
        gateway = new KafkaGateway(s, Map.of("tiny", model), ServedModel.unbudgeted(Map.of("tiny", model), 8), policies,
                new GatewayMetrics(registry), kafka);
        gateway.start();
    }

    /** A blocked request's result is published like a completed one's: a resend of its id is a duplicate, not a second run. */
    @Test
    void aBlockedRequestResentIsADuplicate(@TempDir Path dir) throws Exception {
        var classifier = dev.membrane.safety.ImageClassifier.open(dev.membrane.testing.TinyModel.runtime(),
                dev.membrane.testing.TestClassifiers.alwaysFiring(dir.resolve("classifier")));
        ServedModel checked = ServedModel.open("tiny", dev.membrane.testing.TinyModel.dir(), classifier, dev.membrane.testing.TinyModel.runtime(), 8);
        try {
            startChecked(dir, checked, classifier.card());
            kafka.assign(0);
            kafka.add(0, 0, "b", request("b", 1));
            await(() -> json("results").size() == 1, "the first result");
            assertEquals("BLOCKED", byId("results").get("b").get("status").asText());
            kafka.add(0, 1, "b", request("b", 1));
            await(() -> json("audit").size() == 2, "two audit records");
            assertEquals(1, json("results").size(), "one result for the id");
            assertEquals(List.of("BLOCKED", "DUPLICATE"), json("audit").stream().map(a -> a.get("status").asText()).toList());
        } finally {
            if (gateway != null) gateway.closeAbruptly();
            gateway = null;
            checked.close();
        }
    }

    /** Fail closed: a policy whose output classifier the request's model does not load never generates. */
    @Test
    void aPolicyCheckingWithAClassifierTheModelLacksIsRefusedBeforeGeneration(@TempDir Path dir) throws Exception {
        // another model loads the classifier, so the policy itself is servable; the tiny model has none
        var card = dev.membrane.safety.ClassifierCard.read(dev.membrane.testing.TestClassifiers.alwaysFiring(dir.resolve("classifier")));
        startChecked(dir, GatewayHarness.model(), card);
        kafka.assign(0);
        kafka.add(0, 0, "r", request("r", 1));
        await(() -> json("results").size() == 1, "one result");
        JsonNode r = byId("results").get("r");
        assertEquals("REJECTED", r.get("status").asText());
        assertEquals("POLICY_REFUSED", r.get("error").get("code").asText());
        assertTrue(r.get("error").get("message").asText().contains("model 'tiny' does not load"), r.toString());
        assertEquals(0.0, completedCount());
        MessageSchemas.assertValid("result.schema.json", r);
    }

    @Test
    void aRequestPastItsDeadlineExpiresWithoutGeneration(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.assign(0);
        kafka.add(0, 0, "late", "{\"requestId\":\"late\",\"tenant\":\"t\",\"prompt\":\"a cat\",\"steps\":2,\"deadlineMs\":1000}");
        kafka.add(0, 1, "ok", "{\"requestId\":\"ok\",\"tenant\":\"t\",\"prompt\":\"a cat\",\"steps\":2,\"ttlMs\":600000}");
        await(() -> json("results").size() == 2, "two results");
        Map<String, JsonNode> byId = byId("results");
        assertEquals("EXPIRED", byId.get("late").get("status").asText());
        assertEquals("DEADLINE_EXCEEDED", byId.get("late").get("error").get("code").asText());
        assertEquals("COMPLETED", byId.get("ok").get("status").asText());
        MessageSchemas.assertValid("result.schema.json", byId.get("late"));
    }

    @Test
    void aRecordInFlightAtTwoDeathsIsDeadLetteredAsPoison(@TempDir Path dir) throws Exception {
        // the attempts topic says offset 0 of partition 0 was in flight when two processes died
        kafka.attemptsReader.updateEndOffsets(Map.of(new TopicPartition("attempts", 0), 1L));
        kafka.attemptsReader.schedulePollTask(() -> kafka.attemptsReader.addRecord(new ConsumerRecord<>("attempts", 0, 0, "in-0-0", "2".getBytes())));
        start(dir, 32);
        kafka.assign(0);
        kafka.add(0, 0, "boom", request("boom", 1));
        kafka.add(0, 1, "next", request("next", 1));
        await(() -> json("audit").size() == 2, "two audit records");
        List<ProducerRecord<String, byte[]>> dlq = kafka.committed("dlq");
        assertEquals(1, dlq.size());
        String reason = new String(dlq.get(0).headers().lastHeader("membrane.reason").value());
        assertTrue(reason.startsWith("POISON"), reason);
        JsonNode boom = byId("results").get("boom");
        assertEquals("POISON", boom.get("error").get("code").asText(), "the producer learns under its request id");
        // the next record was marked before its work and its mark is cleared with its result
        assertTrue(kafka.attemptsProducer.history().stream().anyMatch(r -> r.key().equals("in-0-1") && "1".equals(new String(r.value()))));
        assertTrue(kafka.committed("attempts").stream().anyMatch(r -> r.key().equals("in-0-1") && r.value() == null));
    }

    @Test
    void anOversizedFieldIsQuotedBoundedAndThePartitionKeepsFlowing(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.assign(0);
        kafka.add(0, 0, "s", "{\"requestId\":\"s\",\"prompt\":\"x\",\"scheduler\":\"" + "z".repeat(600_000) + "\"}");
        kafka.add(0, 1, "after", request("after", 1));
        await(() -> json("results").size() == 2, "two results");
        var dlq = kafka.committed("dlq");
        assertEquals(1, dlq.size());
        String reason = new String(dlq.get(0).headers().lastHeader("membrane.reason").value());
        assertTrue(reason.length() < 1200, "reason of " + reason.length() + " characters");
        assertTrue(reason.startsWith("INVALID_FIELD"), reason);
    }

    @Test
    void theConsumerPausesAtMaxInFlightAndResumes(@TempDir Path dir) throws Exception {
        start(dir, 2);
        kafka.assign(0);
        for (int i = 0; i < 6; i++) kafka.add(0, i, "p" + i, request("p" + i, 1));
        await(() -> !kafka.consumer.paused().isEmpty(), "a pause");
        await(() -> json("results").size() == 6, "every result");
        await(() -> kafka.consumer.paused().isEmpty(), "resume");
    }

    @Test
    void aRevokedPartitionsUnpublishedWorkIsDroppedForTheNewOwner(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.assign(0, 1);
        kafka.add(0, 0, "a", request("a", 1));
        await(() -> json("results").size() == 1, "a's result");
        // partition 0 moves away; records read afterwards on it must not be published by this instance
        kafka.consumer.schedulePollTask(() -> kafka.consumer.rebalance(List.of(new TopicPartition("in", 1))));
        kafka.add(1, 0, "b", request("b", 1));
        await(() -> json("results").size() == 2, "b's result");
        assertEquals(Set.of("a", "b"), Set.copyOf(json("results").stream().map(r -> r.get("requestId").asText()).toList()));
    }

    @Test
    void aLoopStalledPastItsBoundFailsLivenessAndRecovers(@TempDir Path dir) throws Exception {
        start(dir, 32, 1_000);
        kafka.assign(0);
        await(() -> gateway.live(), "live");
        kafka.consumer.schedulePollTask(() -> {
            try {
                Thread.sleep(3_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        await(() -> !gateway.live(), "liveness to fail during the stall");
        assertTrue(gateway.healthDetail().contains("has not iterated"), gateway.healthDetail());
        await(() -> gateway.live(), "liveness back after the stall");
    }

    @Test
    void tooManyConsecutiveAbortsStopTheInstance(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.producer.commitTransactionException = new TimeoutException("broker away");
        kafka.assign(0);
        kafka.add(0, 0, "r1", request("r1", 1));
        await(() -> !gateway.live(), "liveness to fail after publish-max-attempts");
        assertTrue(gateway.fatal().contains("gave up"), gateway.fatal());
        assertTrue(json("results").isEmpty());
    }

    @Test
    void theMemoryBudgetSplitsWhatFitsInPartsAndRefusesWhatNeverFits(@TempDir Path dir) throws Exception {
        var memory = dev.membrane.serving.memory.MemoryModel.of(dev.membrane.diffusion.ModelFolder.open(dev.membrane.testing.TinyModel.dir()));
        long oneGuided64 = memory.peakBytes(64, 64, 2, 1);
        assertTrue(memory.peakBytes(64, 64, 4, 2) > oneGuided64 && memory.peakBytes(256, 256, 2, 1) > oneGuided64);
        start(dir, 32, 90_000, Map.of("tiny", new BudgetedCapacity(GatewayHarness.model().slots(), memory, oneGuided64, 8)));
        kafka.assign(0);
        kafka.add(0, 0, "three", "{\"requestId\":\"three\",\"tenant\":\"t\",\"prompt\":\"a cat\",\"seed\":5,\"steps\":2,\"numImages\":3}");
        kafka.add(0, 1, "wide", "{\"requestId\":\"wide\",\"tenant\":\"t\",\"prompt\":\"a cat\",\"steps\":2,\"width\":256,\"height\":256}");
        await(() -> json("results").size() == 2, "two results");
        Map<String, JsonNode> byId = byId("results");
        JsonNode three = byId.get("three");
        assertEquals("COMPLETED", three.get("status").asText());
        assertEquals(List.of(5L, 6L, 7L), java.util.stream.StreamSupport.stream(three.get("images").spliterator(), false)
                .map(i -> i.get("seed").asLong()).toList(), "three one-image batches, back in order");
        JsonNode audit = byId("audit").get("three");
        assertEquals(1, audit.get("batchImages").asInt(), "each batch held one image");
        assertEquals("OVER_BUDGET", byId.get("wide").get("error").get("code").asText());
        assertTrue(byId.get("wide").get("error").get("message").asText().contains("MB"), byId.get("wide").toString());
        assertEquals(1, kafka.committed("dlq").size(), "over budget goes to the dead-letter topic");
    }

    /** Continuous batching: a short request arriving while a long one runs joins its batch and leaves first. */
    @Test
    void aShortRequestJoinsARunningLongOneAndFinishesFirst(@TempDir Path dir) throws Exception {
        start(dir, 32);
        kafka.assign(0, 1);
        kafka.add(0, 0, "long", "{\"requestId\":\"long\",\"tenant\":\"t\",\"prompt\":\"a cat\",\"seed\":1,\"steps\":50,\"width\":128,\"height\":128,\"scheduler\":\"euler\"}");
        Thread.sleep(300);
        kafka.add(1, 0, "short", "{\"requestId\":\"short\",\"tenant\":\"t\",\"prompt\":\"a dog\",\"seed\":2,\"steps\":2,\"width\":128,\"height\":128,\"scheduler\":\"ddim\"}");
        await(() -> json("results").size() == 2, "two results");
        json("results").forEach(r -> assertEquals("COMPLETED", r.get("status").asText(), r.toString()));
        List<String> order = json("results").stream().map(r -> r.get("requestId").asText()).toList();
        assertEquals(List.of("short", "long"), order, "the short one did not wait for the long one's batch");
        JsonNode shortAudit = byId("audit").get("short");
        assertEquals(2, shortAudit.get("batchRequests").asInt(), "it shared the long one's UNet calls");
    }
}
