package dev.membrane.cli;

import io.smallrye.reactive.messaging.ClientCustomizer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.logging.Logger;

import org.eclipse.microprofile.config.Config;

import dev.membrane.MembraneException;
import dev.membrane.edge.policy.PolicyTopicConsumer;

/**
 * Gives SmallRye's policy channel the gateway's own Kafka settings, so there is one bootstrap setting and one
 * set of client properties (SASL, TLS) for both: {@code kafka.bootstrap.servers} or its alias, else the embedded
 * broker's {@code 127.0.0.1:membrane.kafka.embedded.port}; then the client-properties file and
 * {@code membrane.kafka.client.*}. SmallRye calls this when it builds the channel's (lazy) consumer at start.
 */
@ApplicationScoped
public class PolicyChannelClient implements ClientCustomizer<Map<String, Object>> {
    private static final Logger LOG = Logger.getLogger(PolicyChannelClient.class.getName());

    @Inject
    MembraneConfig config;

    @Override
    public Map<String, Object> customize(String channel, Config channelConfig, Map<String, Object> kafka) {
        if (!PolicyTopicConsumer.CHANNEL.equals(channel)) return kafka;
        Map<String, Object> out = new HashMap<>(kafka);
        // this runs at start for every command (the client itself is lazy): it must not fail one that never serves;
        // serve checks the same settings itself and refuses to start on them
        try {
            out.put("bootstrap.servers", bootstrap(config));
            out.putAll(ServeCommand.kafkaClientProperties(config));
        } catch (IOException | MembraneException e) {
            LOG.fine("policy channel settings left as they are: " + e.getMessage());
        }
        return out;
    }

    /** The servers the policy channel connects to; with the embedded broker its port must be fixed at start. */
    static String bootstrap(MembraneConfig config) {
        return KafkaBootstrap.configured(config).orElseGet(() -> {
                    int port = config.kafka().embeddedPort();
                    if (port == 0) {
                        throw new MembraneException("membrane.kafka.embedded.port=0 with membrane.policy.topic set: the policy channel's "
                                + "address is fixed at start, so give the embedded broker a port (or set membrane.policy.topic= to turn it off)");
                    }
                    return "127.0.0.1:" + port;
                });
    }
}
