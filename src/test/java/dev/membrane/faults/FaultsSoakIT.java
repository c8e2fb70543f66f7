package dev.membrane.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
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
 * The slow variant of {@link FaultsIT}, off unless asked for: for {@code -Dmembrane.soak.minutes=N}, two gateway
 * instances under steady load while seeded random faults hit them and their broker (broker SIGKILL and restart,
 * broker SIGSTOP for 20 s, an instance crashing and coming back with its id). At the end every request must have
 * exactly one result and one audit record.
 *
 * <pre>./mvnw -Pcpu verify -Dit.test=FaultsSoakIT -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dmembrane.soak.minutes=10</pre>
 */
class FaultsSoakIT {
    @Test
    void exactlyOneResultAndAuditPerRequestThroughRandomFaults(@TempDir Path dir) throws Exception {
        int minutes = Integer.getInteger("membrane.soak.minutes", 0);
        assumeTrue(minutes > 0, "soak runs only with -Dmembrane.soak.minutes=N");
        OutputRecords.Topics topics = new OutputRecords.Topics("soak.requests", "soak.results", "soak.audit", "soak.dlq");
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (BrokerProcess broker = BrokerProcess.start(dir.resolve("broker"), port, Map.of(topics.requests(), 4, topics.results(), 4,
                topics.audit(), 4, topics.deadLetters(), 1, topics.attempts(), 4))) {
            RequestLimits limits = new RequestLimits(500, 256, 256 * 256, 50, 4, 64, 4, 7.5, 30, "ddim", "tiny", Set.of("tiny"));
            Path policy = dir.resolve("policy.yaml");
            Files.writeString(policy, "version: \"1\"\ndefaultPolicy: p\npolicies:\n  p: {concepts: [{id: nudity}]}\n");
            ServedModel model = ServedModel.open("tiny", TinyModel.dir(), TinyModel.runtime(), 8);
            PolicyStore policies = PolicyStore.open(policy, AdapterCatalog.load(Path.of("adapters/catalog.json")));
            KafkaGateway[] instances = new KafkaGateway[2];
            java.util.function.IntFunction<KafkaGateway> startInstance = i -> {
                GatewaySettings s = GatewaySettings.builder(broker.bootstrapServers(), topics, limits).groupId("soak").instanceId("soak-" + i).build();
                KafkaGateway g = new KafkaGateway(s, Map.of("tiny", model), policies, new GatewayMetrics(new SimpleMeterRegistry()));
                g.start();
                return g;
            };
            for (int i = 0; i < 2; i++) instances[i] = startInstance.apply(i);
            Random random = new Random(42);
            Properties pp = new Properties();
            pp.put("bootstrap.servers", broker.bootstrapServers());
            pp.put("acks", "all");
            pp.put("delivery.timeout.ms", "300000");
            int sent = 0;
            long end = System.currentTimeMillis() + minutes * 60_000L;
            long nextFault = System.currentTimeMillis() + 20_000;
            try (var producer = new KafkaProducer<String, String>(pp, new StringSerializer(), new StringSerializer())) {
                while (System.currentTimeMillis() < end) {
                    String id = "s" + sent++;
                    producer.send(new ProducerRecord<>(topics.requests(), id, "{\"requestId\":\"" + id
                            + "\",\"tenant\":\"t\",\"prompt\":\"a cat\",\"steps\":4,\"seed\":" + sent + "}"));
                    Thread.sleep(100);
                    if (System.currentTimeMillis() > nextFault) {
                        int fault = random.nextInt(3);
                        System.err.println("soak: fault " + fault + " after " + sent + " requests");
                        switch (fault) {
                            case 0 -> broker.killAndRestart();
                            case 1 -> {
                                broker.freeze();
                                Thread.sleep(20_000);
                                broker.thaw();
                            }
                            default -> {
                                int i = random.nextInt(2);
                                instances[i].closeAbruptly();
                                instances[i] = startInstance.apply(i);
                            }
                        }
                        nextFault = System.currentTimeMillis() + 20_000 + random.nextInt(20_000);
                    }
                }
                producer.flush();
            }
            Map<String, Integer> results = count(broker, topics.results(), sent);
            Map<String, Integer> audit = count(broker, topics.audit(), sent);
            for (KafkaGateway g : instances) g.close();
            for (int i = 0; i < sent; i++) {
                assertEquals(1, results.getOrDefault("s" + i, 0), "results of s" + i);
                assertEquals(1, audit.getOrDefault("s" + i, 0), "audit records of s" + i);
            }
            System.err.println("soak: " + sent + " requests, each exactly one result and one audit record");
        }
    }

    private static Map<String, Integer> count(BrokerProcess broker, String topic, int keys) {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Integer> out = new HashMap<>();
        try (var consumer = new KafkaConsumer<String, String>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            consumer.partitionsFor(topic).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long until = System.currentTimeMillis() + 600_000;
            long quiet = Long.MAX_VALUE;
            while (System.currentTimeMillis() < Math.min(until, quiet)) {
                consumer.poll(Duration.ofMillis(500)).forEach(r -> out.merge(r.key(), 1, Integer::sum));
                if (out.size() >= keys && quiet == Long.MAX_VALUE) quiet = System.currentTimeMillis() + 5_000;
            }
        }
        return out;
    }
}
