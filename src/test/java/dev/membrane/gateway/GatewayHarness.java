package dev.membrane.gateway;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.membrane.gateway.kafka.EmbeddedKafka;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.policy.PolicyStore;
import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.testing.TinyModel;

/** A real in-process broker, the tiny model, a policy file, and helpers to produce requests and read outputs. */
final class GatewayHarness implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String POLICY = """
            version: "test-1"
            defaultPolicy: standard
            policies:
              standard:
                stacking: linear
                storePrompts: true
                concepts: [{id: nudity}, {id: snoopy}, {id: mickey-mouse}, {id: pikachu}, {id: van-gogh}]
              kids:
                stacking: official
                concepts:
                  - {id: nudity, transport: {kind: fixed, gamma: 2.0}}
                  - {id: van-gogh, transport: {kind: facilitated, factor: 2.0, minimum: 0.5}}
              cartoons:
                concepts: [{id: snoopy}]
            tenants:
              acme: {policy: kids}
              toons: {policy: cartoons}
            """;

    private static ServedModel model;
    final EmbeddedKafka kafka;
    final Path dir;
    final OutputRecords.Topics topics;
    private final String prefix;
    private final KafkaProducer<String, byte[]> producer;

    GatewayHarness(Path dir, String prefix) {
        this.dir = dir;
        this.prefix = prefix;
        kafka = EmbeddedKafka.start(dir.resolve("kafka"), 0);
        topics = new OutputRecords.Topics(prefix + ".requests", prefix + ".results", prefix + ".audit", prefix + ".requests.dlq");
        kafka.createTopics(Map.of(topics.requests(), 2, topics.results(), 2, topics.audit(), 2, topics.deadLetters(), 1));
        kafka.createCompactedTopic(topics.attempts(), 2);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    /** Sets a topic's {@code max.message.bytes}, as kafka/create-topics.sh does. */
    void topicLimit(String topic, int bytes) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (var admin = org.apache.kafka.clients.admin.Admin.create(p)) {
            var resource = new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic);
            var op = new org.apache.kafka.clients.admin.AlterConfigOp(new org.apache.kafka.clients.admin.ConfigEntry("max.message.bytes",
                    Integer.toString(bytes)), org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(op))).all().get();
        }
    }

    static synchronized ServedModel model() {
        if (model == null) model = ServedModel.open("tiny", TinyModel.dir(), TinyModel.runtime(), 8);
        return model;
    }

    GatewaySettings settings(String instance, long maxWaitMs) {
        RequestLimits limits = new RequestLimits(500, 256, 256 * 256, 50, 4, 64, 4, 7.5, 30, "ddim", "tiny", Set.of("tiny"));
        return GatewaySettings.builder(kafka.bootstrapServers(), topics, limits).groupId(prefix + "-group").instanceId(instance)
                .maxBatchWaitMs(maxWaitMs).maxInFlight(32).drainTimeoutMs(30_000).build();
    }

    /** The test policy file written into {@code dir}. */
    static PolicyStore policies(Path dir, AdapterCatalog catalog) throws Exception {
        Path file = dir.resolve("policy.yaml");
        Files.writeString(file, POLICY);
        return PolicyStore.open(file, catalog);
    }

    PolicyStore policies(AdapterCatalog catalog) throws Exception {
        Path file = dir.resolve("policy.yaml");
        Files.writeString(file, POLICY);
        return PolicyStore.open(file, catalog);
    }

    KafkaGateway start(String instance, long maxWaitMs, AdapterCatalog catalog) throws Exception {
        KafkaGateway g = new KafkaGateway(settings(instance, maxWaitMs), Map.of("tiny", model()), policies(catalog),
                new GatewayMetrics(new SimpleMeterRegistry()));
        g.start();
        return g;
    }

    void send(String key, String json) throws Exception {
        producer.send(new ProducerRecord<>(topics.requests(), key, json == null ? null : json.getBytes())).get();
    }

    void sendTo(int partition, String key, String json) throws Exception {
        producer.send(new ProducerRecord<>(topics.requests(), partition, key, json.getBytes())).get();
    }

    static String request(String id, String tenant, String prompt, long seed) {
        return "{\"requestId\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"app\":\"test\",\"prompt\":\"" + prompt
                + "\",\"seed\":" + seed + ",\"steps\":4,\"width\":64,\"height\":64}";
    }

    /** Reads a topic (read_committed) until {@code done} holds or the timeout passes. */
    List<ConsumerRecord<String, byte[]>> read(String topic, Predicate<List<ConsumerRecord<String, byte[]>>> done, long timeoutMs) {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + System.nanoTime());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (System.currentTimeMillis() < deadline && !done.test(out)) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    /** JSON values by key, each key's records in order. */
    Map<String, List<JsonNode>> readJson(String topic, int distinctKeys, long timeoutMs) {
        List<ConsumerRecord<String, byte[]>> records = read(topic, l -> l.stream().map(ConsumerRecord::key).distinct().count() >= distinctKeys, timeoutMs);
        Map<String, List<JsonNode>> out = new LinkedHashMap<>();
        for (var r : records) {
            try {
                out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(JSON.readTree(r.value()));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    static Map<String, String> headers(ConsumerRecord<String, byte[]> r) {
        Map<String, String> h = new HashMap<>();
        r.headers().forEach(x -> h.put(x.key(), new String(x.value())));
        return h;
    }

    @Override
    public void close() {
        producer.close();
        kafka.close();
    }
}
