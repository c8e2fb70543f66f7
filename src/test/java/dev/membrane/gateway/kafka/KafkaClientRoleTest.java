package dev.membrane.gateway.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import java.util.Properties;
import java.util.function.BiFunction;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/**
 * Two real consumers (constructed, never connected), as serve has them: SmallRye's policy consumer and the
 * requests consumer. Bound in either order, the scrape shows both, each with its role.
 */
class KafkaClientRoleTest {
    private static final String METER = "kafka_consumer_io_time_ns_avg";

    private static KafkaConsumer<byte[], byte[]> consumer(String clientId) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "g-" + clientId);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Binds the policy consumer with {@code policyBinding} and the requests consumer as MeteredKafkaClients does. */
    private static String scrape(boolean policyFirst, BiFunction<KafkaConsumer<?, ?>, String, KafkaClientMetrics> policyBinding) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (KafkaConsumer<byte[], byte[]> policies = consumer("kafka-consumer-membrane-policies");
                KafkaConsumer<byte[], byte[]> requests = consumer("membrane-requests");
                KafkaClientMetrics policy = policyBinding.apply(policies, KafkaClientRole.of(policies.metrics()));
                KafkaClientMetrics request = KafkaClientRole.metrics(requests, "requests-consumer")) {
            if (policyFirst) {
                policy.bindTo(registry);
                request.bindTo(registry);
            } else {
                request.bindTo(registry);
                policy.bindTo(registry);
            }
            return registry.scrape();
        }
    }

    private static boolean shows(String scrape, String role) {
        return scrape.lines().anyMatch(l -> l.startsWith(METER + "{") && l.contains("membrane_client=\"" + role + "\""));
    }

    @Test
    void bothConsumersAreScrapedInEitherOrder() {
        for (boolean policyFirst : new boolean[] {true, false}) {
            String scrape = scrape(policyFirst, KafkaClientRole::metrics);
            assertTrue(shows(scrape, "requests-consumer"), "policy first: " + policyFirst + "\n" + scrape);
            assertTrue(shows(scrape, "membrane-policies-consumer"), "policy first: " + policyFirst + "\n" + scrape);
        }
    }

    @Test
    void anUntaggedBindingHidesOneOfThem() {
        // what Quarkus's own binder did: if Micrometer ever merges tag sets, this fails and the workaround can go
        String policyFirst = scrape(true, (c, role) -> new KafkaClientMetrics(c));
        String requestsFirst = scrape(false, (c, role) -> new KafkaClientMetrics(c));
        boolean policyShown = requestsFirst.lines().anyMatch(l -> l.startsWith(METER + "{") && l.contains("membrane-policies"));
        assertTrue(!policyShown || !shows(policyFirst, "requests-consumer"), "both orders kept both clients");
    }

    @Test
    void rolesComeFromSmallRyeClientIds() {
        assertEquals("membrane-policies-consumer", KafkaClientRole.fromClientId("kafka-consumer-membrane-policies"));
        assertEquals("out-producer", KafkaClientRole.fromClientId("kafka-producer-out"));
        assertEquals("my-client", KafkaClientRole.fromClientId("my-client"));
        assertEquals("kafka-consumer-", KafkaClientRole.fromClientId("kafka-consumer-"));
        assertEquals("unknown", KafkaClientRole.fromClientId(null));
    }
}
