package dev.membrane.edge;

import dev.membrane.gateway.kafka.KafkaClientRole;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.IdentityHashMap;
import java.util.Map;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * Binds the metrics of the Kafka clients SmallRye creates for its channels (the policy topic's consumer), tagged
 * with their role like every other client. It replaces Quarkus's own Kafka binder, which is turned off
 * ({@code quarkus.micrometer.binder.kafka.enabled=false}) because it binds without the tag; see
 * {@link KafkaClientRole}.
 */
@ApplicationScoped
public class ChannelClientMetrics {
    @Inject
    MeterRegistry registry;

    private final Map<Object, KafkaClientMetrics> bound = new IdentityHashMap<>();

    synchronized void consumerCreated(@Observes Consumer<?, ?> consumer) {
        bind(consumer, KafkaClientRole.metrics(consumer, KafkaClientRole.of(consumer.metrics())));
    }

    synchronized void producerCreated(@Observes Producer<?, ?> producer) {
        bind(producer, KafkaClientRole.metrics(producer, KafkaClientRole.of(producer.metrics())));
    }

    private void bind(Object client, KafkaClientMetrics metrics) {
        KafkaClientMetrics previous = bound.put(client, metrics);
        if (previous != null) previous.close();
        metrics.bindTo(registry);
    }

    synchronized void onStop(@Observes ShutdownEvent event) {
        bound.values().forEach(KafkaClientMetrics::close);
        bound.clear();
    }
}
