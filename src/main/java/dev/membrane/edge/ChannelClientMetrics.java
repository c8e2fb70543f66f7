package dev.membrane.edge;

import dev.membrane.gateway.kafka.KafkaClientRole;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;

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

    /** One binding per client: SmallRye announces each client once, when it creates it. */
    private final List<KafkaClientMetrics> bound = new ArrayList<>();

    synchronized void consumerCreated(@Observes Consumer<?, ?> consumer) {
        bind(KafkaClientRole.metrics(consumer, KafkaClientRole.of(consumer.metrics())));
    }

    synchronized void producerCreated(@Observes Producer<?, ?> producer) {
        bind(KafkaClientRole.metrics(producer, KafkaClientRole.of(producer.metrics())));
    }

    private void bind(KafkaClientMetrics metrics) {
        bound.add(metrics);
        metrics.bindTo(registry);
    }

    synchronized void onStop(@Observes ShutdownEvent event) {
        bound.forEach(KafkaClientMetrics::close);
        bound.clear();
    }
}
