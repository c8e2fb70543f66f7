package dev.membrane.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.gateway.GatewayMetrics;
import dev.membrane.gateway.GatewaySettings;
import dev.membrane.gateway.KafkaGateway;
import dev.membrane.gateway.ServedModel;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.policy.PolicyStore;
import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.testing.TinyModel;

/**
 * Faults that need processes: a broker in its own process (frozen with SIGSTOP, thawed with SIGCONT), the packaged
 * gateway as a subprocess (SIGTERM with work in flight; SIGKILL with another instance taking over).
 */
class FaultsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path root;
    private static BrokerProcess broker;

    @BeforeAll
    static void startBroker() throws Exception {
        root = Files.createTempDirectory("membrane-faults-");
        Map<String, Integer> topics = new HashMap<>();
        for (String t : List.of("drain", "ready", "takeover", "crash", "poison")) {
            topics.put(t + ".requests", 2);
            topics.put(t + ".results", 2);
            topics.put(t + ".audit", 2);
            topics.put(t + ".dlq", 1);
            topics.put(t + ".requests.attempts", 2);
        }
        broker = BrokerProcess.start(root.resolve("broker"), freePort(), topics);
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) broker.close();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private static OutputRecords.Topics topics(String prefix) {
        return new OutputRecords.Topics(prefix + ".requests", prefix + ".results", prefix + ".audit", prefix + ".dlq");
    }

    private static String request(String id, int steps, int side, int images) {
        return "{\"requestId\":\"" + id + "\",\"tenant\":\"t\",\"prompt\":\"a photo of a cat\",\"seed\":7,\"steps\":" + steps
                + ",\"width\":" + side + ",\"height\":" + side + ",\"numImages\":" + images + "}";
    }

    private static void send(String topic, Integer partition, String id, String json) throws Exception {
        Properties pp = new Properties();
        pp.put("bootstrap.servers", broker.bootstrapServers());
        pp.put("acks", "all");
        try (var producer = new KafkaProducer<String, String>(pp, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, partition, id, json)).get();
        }
    }

    /**
     * Committed records of a topic from its start, until {@code done} holds (then {@code lingerMs} more, so that a
     * duplicate would show) or the timeout. Assigned, not subscribed: no group join, so the time measured is the
     * gateway's, not the reader's.
     */
    private static List<ConsumerRecord<String, byte[]>> records(String topic, Predicate<List<ConsumerRecord<String, byte[]>>> done,
                                                               long timeoutMs, long lingerMs) {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (var consumer = new KafkaConsumer<String, byte[]>(cp, new StringDeserializer(), new ByteArrayDeserializer())) {
            var parts = consumer.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long until = System.currentTimeMillis() + timeoutMs;
            boolean wasDone = false;
            while (System.currentTimeMillis() < until) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                if (!wasDone && done.test(out)) {
                    wasDone = true;
                    until = Math.min(until, System.currentTimeMillis() + lingerMs);
                }
            }
        }
        return out;
    }

    private static long distinctKeys(List<ConsumerRecord<String, byte[]>> records) {
        return records.stream().map(ConsumerRecord::key).distinct().count();
    }

    private static JsonNode json(ConsumerRecord<String, byte[]> r) {
        try {
            return JSON.readTree(r.value());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The latest committed value per key, until {@code count} distinct keys or the timeout. */
    private static Map<String, JsonNode> read(String topic, int count, long timeoutMs) {
        Map<String, JsonNode> out = new HashMap<>();
        records(topic, l -> distinctKeys(l) >= count, timeoutMs, 0).forEach(r -> out.put(r.key(), json(r)));
        return out;
    }

    private static Process serve(Path dir, String prefix, String instance, int httpPort) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        OutputRecords.Topics t = topics(prefix);
        ProcessBuilder pb = new ProcessBuilder(java, "-XX:ErrorFile=" + dir.resolve("hs_err_%p.log"),
                "-Dmembrane.data-dir=" + dir.resolve("data"), "-Dmembrane.adapters.catalog=" + Path.of("adapters/catalog.json").toAbsolutePath(), "-Dmembrane.kafka.bootstrap-servers=" + broker.bootstrapServers(),
                "-Dquarkus.http.port=" + httpPort, "-Dmembrane.gateway.instance-id=" + instance, "-Dmembrane.device=cpu",
                "-Dmembrane.gateway.group-id=" + prefix + "-group", "-Dmembrane.topics.requests=" + t.requests(),
                "-Dmembrane.topics.results=" + t.results(), "-Dmembrane.topics.audit=" + t.audit(),
                "-Dmembrane.topics.dead-letters=" + t.deadLetters(), "-Dmembrane.topics.attempts=" + t.attempts(),
                "-jar", Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath().toString());
        pb.directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("serve.log").toFile());
        return pb.start();
    }

    private static void awaitReady(Process p, int httpPort, Path log) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.currentTimeMillis() + 180_000;
        while (System.currentTimeMillis() < deadline && p.isAlive()) {
            try {
                var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return;
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(300);
        }
        throw new AssertionError("never ready: " + Files.readString(log));
    }

    private static void awaitLog(Path log, String text, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!Files.readString(log).contains(text)) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("no '" + text + "' in: " + Files.readString(log));
            Thread.sleep(100);
        }
    }

    /** An in-process gateway on the broker process, on the topics of {@code prefix}, with a one-concept policy. */
    private static KafkaGateway inProcessGateway(Path dir, String prefix, java.util.function.UnaryOperator<GatewaySettings.Builder> tune)
            throws Exception {
        RequestLimits limits = new RequestLimits(500, 256, 256 * 256, 50, 4, 64, 4, 7.5, 30, "ddim", "tiny", Set.of("tiny"));
        GatewaySettings s = tune.apply(GatewaySettings.builder(broker.bootstrapServers(), topics(prefix), limits).groupId(prefix + "-group")).build();
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, "version: \"1\"\ndefaultPolicy: p\npolicies:\n  p: {concepts: [{id: nudity}]}\n");
        ServedModel model = ServedModel.open("tiny", TinyModel.dir(), TinyModel.runtime(), 8);
        KafkaGateway g = new KafkaGateway(s, Map.of("tiny", model), PolicyStore.open(policy, AdapterCatalog.load(Path.of("adapters/catalog.json"))),
                new GatewayMetrics(new SimpleMeterRegistry()));
        g.start();
        return g;
    }

    @Test
    void sigtermWithWorkInFlightPublishesEveryRequestAndExitsZero(@TempDir Path dir) throws Exception {
        int http = freePort();
        Process p = serve(dir, "drain", "drain-1", http);
        awaitReady(p, http, dir.resolve("serve.log"));
        for (int i = 0; i < 5; i++) send("drain.requests", i % 2, "d" + i, request("d" + i, 40, 128, 2));
        awaitLog(dir.resolve("serve.log"), "admitted", 60_000);
        Thread.sleep(300);
        p.destroy(); // SIGTERM, with the batch inside ONNX Runtime
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "serve must stop on SIGTERM");
        String log = Files.readString(dir.resolve("serve.log"));
        assertEquals(0, p.exitValue(), log);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("hs_err")).toList(), "no JVM crash");
        }
        Map<String, JsonNode> results = read("drain.results", 5, 30_000);
        assertEquals(Set.of("d0", "d1", "d2", "d3", "d4"), results.keySet(), log);
        results.values().forEach(r -> assertEquals("COMPLETED", r.get("status").asText()));
        assertTrue(log.contains("every session closed"), log);
        // an external cluster without the policy topic: the file alone, said once, and no topic created behind our back
        assertTrue(log.contains("policy topic membrane.policies does not exist: serving"), log);
        assertTrue(!log.contains("UNKNOWN_TOPIC_OR_PARTITION"), "the channel never subscribed to the missing topic");
    }

    @Test
    void readinessTurnsFalseWhileTheBrokerIsFrozenAndReturnsWhenItThaws(@TempDir Path dir) throws Exception {
        KafkaGateway g = inProcessGateway(dir, "ready", b -> b.instanceId("ready-1").brokerProbeIntervalMs(2_000).brokerUnreachableAfterMs(8_000));
        try {
            long deadline = System.currentTimeMillis() + 60_000;
            while (!g.ready() && System.currentTimeMillis() < deadline) Thread.sleep(200);
            assertTrue(g.ready(), g.healthDetail());
            broker.freeze();
            long frozenAt = System.currentTimeMillis();
            try {
                while (g.ready() && System.currentTimeMillis() - frozenAt < 30_000) Thread.sleep(200);
                assertFalse(g.ready(), "still ready 30 s into a broker outage");
                System.err.println("readiness turned false " + (System.currentTimeMillis() - frozenAt) + " ms after the broker froze");
                assertTrue(g.live(), "a broker outage is not a reason to restart: " + g.healthDetail());
            } finally {
                broker.thaw();
            }
            long thawedAt = System.currentTimeMillis();
            while (!g.ready() && System.currentTimeMillis() - thawedAt < 30_000) Thread.sleep(200);
            assertTrue(g.ready(), "not ready 30 s after the broker came back: " + g.healthDetail());
            send("ready.requests", 0, "after", request("after", 3, 64, 1));
            assertEquals("COMPLETED", read("ready.results", 1, 60_000).get("after").get("status").asText());
        } finally {
            g.close();
        }
    }

    @Test
    void aKilledInstancesPartitionsAreServedByAnotherWithin15Seconds(@TempDir Path dir) throws Exception {
        int http = freePort();
        Process victim = serve(dir, "takeover", "victim", http);
        awaitReady(victim, http, dir.resolve("serve.log"));
        KafkaGateway survivor = inProcessGateway(dir, "takeover", b -> b.instanceId("survivor"));
        try {
            // both own a partition once each answers one of the two
            Set<String> owners = new java.util.HashSet<>();
            for (int round = 0; round < 20 && owners.size() < 2; round++) {
                send("takeover.requests", 0, "w0-" + round, request("w0-" + round, 2, 64, 1));
                send("takeover.requests", 1, "w1-" + round, request("w1-" + round, 2, 64, 1));
                Map<String, JsonNode> audit = read("takeover.audit", 2 * (round + 1), 20_000);
                audit.values().forEach(a -> owners.add(a.get("gatewayInstance").asText()));
            }
            assertEquals(Set.of("victim", "survivor"), owners, "both instances must own a partition first");
            victim.destroyForcibly(); // SIGKILL: no leave, no commit, an open transaction possibly
            long killedAt = System.currentTimeMillis();
            send("takeover.requests", 0, "k0", request("k0", 2, 64, 1));
            send("takeover.requests", 1, "k1", request("k1", 2, 64, 1));
            Map<String, JsonNode> results = new HashMap<>();
            while (results.size() < 2 && System.currentTimeMillis() - killedAt < 60_000) {
                results.putAll(readOnly("takeover.results", Set.of("k0", "k1")));
                Thread.sleep(100);
            }
            long takeoverMs = System.currentTimeMillis() - killedAt;
            System.err.println("takeover after SIGKILL: both partitions answered " + takeoverMs + " ms after the kill");
            Files.writeString(Path.of("target/takeover-ms.txt"), Long.toString(takeoverMs));
            assertEquals(Set.of("k0", "k1"), results.keySet());
            assertTrue(takeoverMs <= 15_000, "takeover took " + takeoverMs + " ms");
        } finally {
            victim.destroyForcibly();
            survivor.close();
        }
    }

    @Test
    void aBrokerKilledUnderLoadAndRestartedLosesNothingAndDuplicatesNothing(@TempDir Path dir) throws Exception {
        KafkaGateway g = inProcessGateway(dir, "crash", b -> b.instanceId("crash-1").maxInFlight(8));
        int n = 16;
        try {
            for (int i = 0; i < n; i++) send("crash.requests", i % 2, "c" + i, request("c" + i, 12, 64, 1));
            Thread.sleep(700);
            // down longer than the 10 s transaction timeout: an open transaction is aborted and its producer fenced
            broker.killAndRestartAfter(12_000);
            Map<String, List<JsonNode>> results = readAll("crash.results", n, 120_000);
            Map<String, List<JsonNode>> audit = readAll("crash.audit", n, 30_000);
            for (int i = 0; i < n; i++) {
                assertEquals(1, results.getOrDefault("c" + i, List.of()).size(), "c" + i + ": " + results.get("c" + i));
                assertEquals(1, audit.getOrDefault("c" + i, List.of()).size(), "c" + i + " audit");
                assertEquals("COMPLETED", results.get("c" + i).get(0).get("status").asText());
            }
            assertTrue(g.live(), g.healthDetail());
        } finally {
            g.close();
        }
    }

    @Test
    void aRecordInFlightAtTwoDeathsIsDeadLetteredAsPoisonByTheThirdProcess(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("serve.log");
        for (int death = 1; death <= 2; death++) {
            int http = freePort();
            Process p = serve(dir, "poison", "poison-1", http);
            try {
                awaitReady(p, http, log);
                long readyAt = System.currentTimeMillis();
                if (death == 1) send("poison.requests", 0, "heavy", request("heavy", 100, 256, 4));
                awaitLog(log, "admitted 1 requests: [heavy]", 60_000);
                if (death == 2) {
                    // static membership: the same id takes its partitions back at once, no session timeout
                    long resumedMs = System.currentTimeMillis() - readyAt;
                    System.err.println("restart with the same instance id after SIGKILL: its record re-read " + resumedMs + " ms after ready");
                    Files.writeString(Path.of("target/restart-same-id-ms.txt"), Long.toString(resumedMs));
                    assertTrue(resumedMs < 15_000, "re-read after " + resumedMs + " ms");
                }
            } finally {
                p.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL while it generates
            }
            Files.move(log, dir.resolve("serve-" + death + ".log"));
        }
        int http = freePort();
        Process third = serve(dir, "poison", "poison-1", http);
        try {
            awaitReady(third, http, log);
            Map<String, JsonNode> results = read("poison.results", 1, 60_000);
            String logs = Files.readString(dir.resolve("serve-1.log")) + Files.readString(dir.resolve("serve-2.log")) + Files.readString(log);
            assertTrue(results.containsKey("heavy"), logs);
            assertEquals("REJECTED", results.get("heavy").get("status").asText(), logs);
            assertEquals("POISON", results.get("heavy").get("error").get("code").asText());
            var dlq = records("poison.dlq", l -> !l.isEmpty(), 30_000, 0);
            String reason = dlq.isEmpty() ? null : new String(dlq.get(0).headers().lastHeader("membrane.reason").value());
            assertTrue(reason != null && reason.startsWith("POISON"), String.valueOf(reason));
        } finally {
            third.destroy();
            third.waitFor(60, TimeUnit.SECONDS);
        }
    }

    /** Every committed value per key (to count duplicates), until {@code keys} distinct keys (and 2 s more) or the timeout. */
    private static Map<String, List<JsonNode>> readAll(String topic, int keys, long timeoutMs) {
        Map<String, List<JsonNode>> out = new HashMap<>();
        records(topic, l -> distinctKeys(l) >= keys, timeoutMs, 2_000).forEach(r -> out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(json(r)));
        return out;
    }

    private static Map<String, JsonNode> readOnly(String topic, Set<String> keys) {
        Map<String, JsonNode> all = read(topic, Integer.MAX_VALUE, 300);
        Map<String, JsonNode> out = new HashMap<>();
        keys.forEach(k -> {
            if (all.containsKey(k)) out.put(k, all.get(k));
        });
        return out;
    }
}
