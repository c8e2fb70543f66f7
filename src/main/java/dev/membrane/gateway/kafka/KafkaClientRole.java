package dev.membrane.gateway.kafka;

import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

/**
 * Every Kafka client's metrics are bound with one {@code membrane.client} tag naming its role. Prometheus keeps
 * one set of tag keys per meter name and refuses a meter whose keys differ from the first one registered: when
 * Quarkus's own binder bound SmallRye's policy consumer without the tag while {@link MeteredKafkaClients} bound
 * the requests consumer with it, whichever registered a {@code kafka_consumer_*} name first hid the other's.
 */
public final class KafkaClientRole {
    public static final String TAG = "membrane.client";

    private KafkaClientRole() {}

    public static KafkaClientMetrics metrics(Consumer<?, ?> consumer, String role) {
        return new KafkaClientMetrics(consumer, tags(role));
    }

    public static KafkaClientMetrics metrics(Producer<?, ?> producer, String role) {
        return new KafkaClientMetrics(producer, tags(role));
    }

    private static List<Tag> tags(String role) {
        return List.of(Tag.of(TAG, role));
    }

    /** The role of a client Membrane did not create itself (a SmallRye channel's), from its {@code client-id}. */
    public static String of(Map<MetricName, ? extends Metric> metrics) {
        String clientId = metrics.keySet().stream().map(n -> n.tags().get("client-id")).filter(id -> id != null && !id.isEmpty())
                .findFirst().orElse(null);
        return fromClientId(clientId);
    }

    /** SmallRye names its clients {@code kafka-consumer-<channel>}: that becomes {@code <channel>-consumer}. */
    static String fromClientId(String clientId) {
        if (clientId == null || clientId.isEmpty()) return "unknown";
        for (String kind : new String[] {"consumer", "producer"}) {
            String prefix = "kafka-" + kind + "-";
            if (clientId.startsWith(prefix) && clientId.length() > prefix.length()) return clientId.substring(prefix.length()) + "-" + kind;
        }
        return clientId;
    }
}
