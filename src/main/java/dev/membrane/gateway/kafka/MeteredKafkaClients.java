package dev.membrane.gateway.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * Real clients with the Kafka client's own metrics bound to Micrometer ({@code kafka_consumer_*},
 * {@code kafka_producer_*} in {@code /q/metrics}: lag, fetch and request rates, errors), tagged
 * {@code membrane.client} with the client's role. A role's earlier binding is closed when its client is replaced
 * (a fenced producer is), so a dead client leaves no stale meters. See {@link KafkaClientRole} for why every client
 * carries the tag.
 */
public final class MeteredKafkaClients implements KafkaClients {
    private final KafkaClients delegate;
    private final MeterRegistry registry;
    private final Map<String, KafkaClientMetrics> bound = new HashMap<>();

    public MeteredKafkaClients(KafkaClients delegate, MeterRegistry registry) {
        this.delegate = delegate;
        this.registry = registry;
    }

    private synchronized void bind(String role, KafkaClientMetrics metrics) {
        KafkaClientMetrics previous = bound.put(role, metrics);
        if (previous != null) previous.close();
        metrics.bindTo(registry);
    }

    @Override
    public Consumer<byte[], byte[]> requestsConsumer(Properties config) {
        Consumer<byte[], byte[]> c = delegate.requestsConsumer(config);
        bind("requests-consumer", KafkaClientRole.metrics(c, "requests-consumer"));
        return c;
    }

    @Override
    public Producer<String, byte[]> transactionalProducer(Properties config) {
        Producer<String, byte[]> p = delegate.transactionalProducer(config);
        bind("transactional-producer", KafkaClientRole.metrics(p, "transactional-producer"));
        return p;
    }

    @Override
    public Producer<String, byte[]> attemptsProducer(Properties config) {
        Producer<String, byte[]> p = delegate.attemptsProducer(config);
        bind("attempts-producer", KafkaClientRole.metrics(p, "attempts-producer"));
        return p;
    }

    @Override
    public Producer<String, byte[]> auditProducer(Properties config) {
        Producer<String, byte[]> p = delegate.auditProducer(config);
        bind("playground-audit-producer", KafkaClientRole.metrics(p, "playground-audit-producer"));
        return p;
    }

    @Override
    public Consumer<String, byte[]> attemptsReader(Properties config) {
        return delegate.attemptsReader(config);
    }

    @Override
    public BrokerMonitor brokerMonitor(Properties config, Collection<String> topics, long probeIntervalMs, long unreachableAfterMs) {
        return delegate.brokerMonitor(config, topics, probeIntervalMs, unreachableAfterMs);
    }
}
