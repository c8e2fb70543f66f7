package dev.membrane.edge.policy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.reactive.messaging.ChannelRegistry;
import io.smallrye.reactive.messaging.PausableChannel;
import io.smallrye.reactive.messaging.annotations.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.logging.Logger;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;

import dev.membrane.edge.GatewayState;
import dev.membrane.gateway.outcome.BoundedText;
import dev.membrane.policy.PolicyStore;

/**
 * Policy documents from the compacted policy topic, through SmallRye's {@code membrane-policies} channel: every
 * instance reads the whole topic (its own consumer group, from the earliest offset, no commits) and applies each
 * document in turn, so the newest valid one is in force everywhere. A document that fails validation is counted,
 * logged with its reason, and ignored: the last good one stays.
 *
 * <p>The channel is created paused with late subscription and a lazy client, so no Kafka client exists until
 * {@link #resume} is called by {@code serve} once the gateway (and, for the embedded default, the broker) is up:
 * the other commands never touch Kafka.
 */
@ApplicationScoped
public class PolicyTopicConsumer {
    /** The channel's name in {@code mp.messaging.incoming.*}. */
    public static final String CHANNEL = "membrane-policies";
    private static final Logger LOG = Logger.getLogger(PolicyTopicConsumer.class.getName());

    @Inject
    GatewayState state;

    @Inject
    ChannelRegistry channels;

    @Inject
    MeterRegistry registry;

    @Incoming(CHANNEL)
    @Blocking
    public void apply(ConsumerRecord<String, byte[]> record) {
        String origin = origin(record);
        PolicyStore store = state.policies();
        if (store == null) {
            // cannot happen (resumed after serving), but an exception here would end the channel for good
            LOG.severe("policy document " + origin + " arrived before the gateway serves; ignored");
            count("ignored");
            return;
        }
        try {
            PolicyStore.TopicResult r = store.applyDocument(origin, record.value());
            count(r instanceof PolicyStore.TopicResult.Applied ? "applied" : "invalid");
        } catch (RuntimeException e) {
            // fail closed on our own bugs too: the last good document stays, the channel keeps consuming
            LOG.severe("policy document " + origin + " could not be applied: " + e);
            count("invalid");
        }
    }

    /** Starts consuming: creates the client, subscribes, reads from the earliest offset. */
    public void resume() {
        PausableChannel channel = channels.getPausable(CHANNEL);
        if (channel == null) throw new IllegalStateException("channel " + CHANNEL + " is not pausable: see application.properties");
        channel.resume();
    }

    private void count(String result) {
        Counter.builder("membrane.policy.documents").description("Policy documents read from the policy topic, by result")
                .tag("result", result).register(registry).increment();
    }

    /** {@code topic[key]@partition:offset}, the key bounded and without control characters (it is the producer's). */
    static String origin(ConsumerRecord<String, byte[]> r) {
        String key = r.key() == null ? "" : BoundedText.quote(r.key()).replaceAll("\\p{Cntrl}", "?");
        return r.topic() + "[" + key + "]@" + r.partition() + ":" + r.offset();
    }
}
