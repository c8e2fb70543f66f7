package dev.membrane.gateway.kafka;

import dev.membrane.gateway.publish.TopicLimits;

/**
 * Whether the broker answers, asked directly (an empty {@code poll()} says nothing: it returns after its timeout
 * whether or not a broker is there), and the topics' record size limits.
 */
public interface BrokerMonitor extends AutoCloseable {
    boolean reachable();

    /** When the broker last answered (epoch ms), 0 if never. */
    long lastAnsweredAtMs();

    TopicLimits limits();

    @Override
    void close();

    /** For unit tests: always up, with these limits. */
    static BrokerMonitor fixed(TopicLimits limits) {
        return new BrokerMonitor() {
            public boolean reachable() {
                return true;
            }

            public long lastAnsweredAtMs() {
                return System.currentTimeMillis();
            }

            public TopicLimits limits() {
                return limits;
            }

            public void close() {
            }
        };
    }
}
