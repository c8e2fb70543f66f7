package dev.membrane.cli;

import java.util.Optional;

import dev.membrane.MembraneException;

/**
 * The one bootstrap setting of the gateway: Quarkus's {@code kafka.bootstrap.servers} (env
 * {@code KAFKA_BOOTSTRAP_SERVERS}), which SmallRye and every Quarkus Kafka extension read too, with
 * {@code membrane.kafka.bootstrap-servers} kept as an alias. Both set to different values is refused rather than
 * guessed; neither starts the embedded broker.
 */
final class KafkaBootstrap {
    static final String QUARKUS_KEY = "kafka.bootstrap.servers";

    private KafkaBootstrap() {
    }

    /** The configured external cluster (Quarkus's key or the alias), or empty: the embedded broker. */
    static Optional<String> configured(MembraneConfig config) {
        return resolve(org.eclipse.microprofile.config.ConfigProvider.getConfig().getOptionalValue(QUARKUS_KEY, String.class),
                config.kafka().bootstrapServers());
    }

    static Optional<String> resolve(Optional<String> quarkus, Optional<String> alias) {
        Optional<String> q = quarkus.map(String::strip).filter(s -> !s.isEmpty());
        Optional<String> a = alias.map(String::strip).filter(s -> !s.isEmpty());
        if (q.isPresent() && a.isPresent() && !q.get().equals(a.get())) {
            throw new MembraneException(QUARKUS_KEY + "=" + q.get() + " and membrane.kafka.bootstrap-servers=" + a.get()
                    + " disagree: set one (membrane.kafka.bootstrap-servers is an alias)");
        }
        return q.isPresent() ? q : a;
    }
}
