package dev.membrane.gateway.kafka;

import java.util.Collection;
import java.util.Properties;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Where the gateway gets its Kafka clients: real ones in production, {@code MockConsumer}/{@code MockProducer} in
 * unit tests of the loop.
 */
public interface KafkaClients {
    /** The requests consumer (subscribed by the caller). */
    Consumer<byte[], byte[]> requestsConsumer(Properties config);

    /** The transactional producer of results, audit records and dead letters. */
    Producer<String, byte[]> transactionalProducer(Properties config);

    /** The producer of crash-loop attempt marks (idempotent, not transactional: a mark must be durable before work starts). */
    Producer<String, byte[]> attemptsProducer(Properties config);

    /**
     * The policy playground's producer of audit records (idempotent, acks=all, not transactional: a compare waits for
     * its one record). Mock client sets for the Kafka loop need not have one.
     */
    default Producer<String, byte[]> auditProducer(Properties config) {
        throw new UnsupportedOperationException("this client set has no audit producer");
    }

    /** A reader of the attempts topic (assigned by the caller). */
    Consumer<String, byte[]> attemptsReader(Properties config);

    /** Readiness and topic limits, from the broker itself. */
    BrokerMonitor brokerMonitor(Properties config, Collection<String> topics, long probeIntervalMs, long unreachableAfterMs);

    static KafkaClients real() {
        return new KafkaClients() {
            public Consumer<byte[], byte[]> requestsConsumer(Properties c) {
                return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            }

            public Producer<String, byte[]> transactionalProducer(Properties c) {
                return new KafkaProducer<>(c, new StringSerializer(), new ByteArraySerializer());
            }

            public Producer<String, byte[]> attemptsProducer(Properties c) {
                return new KafkaProducer<>(c, new StringSerializer(), new ByteArraySerializer());
            }

            public Producer<String, byte[]> auditProducer(Properties c) {
                return new KafkaProducer<>(c, new StringSerializer(), new ByteArraySerializer());
            }

            public Consumer<String, byte[]> attemptsReader(Properties c) {
                return new KafkaConsumer<>(c, new org.apache.kafka.common.serialization.StringDeserializer(), new ByteArrayDeserializer());
            }

            public BrokerMonitor brokerMonitor(Properties c, Collection<String> topics, long probeIntervalMs, long unreachableAfterMs) {
                return AdminBrokerMonitor.start(c, topics, probeIntervalMs, unreachableAfterMs);
            }
        };
    }
}
