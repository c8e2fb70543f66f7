package dev.membrane.gateway;

import java.util.Map;
import java.util.Objects;

import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.serving.BatchingMode;

/**
 * How the gateway runs. Built with {@link #builder}; every default lives in {@link Builder} and nowhere else.
 *
 * @param bootstrapServers   Kafka bootstrap servers
 * @param topics             topic names
 * @param groupId            consumer group of the requests topic
 * @param instanceId         this instance's stable id: the transactional id's suffix and the consumer's
 *                           {@code group.instance.id} (static membership: a restart with the same id takes its
 *                           partitions back without a rebalance and fences its predecessor's transaction)
 * @param workers            generation worker threads
 * @param maxBatchImages     most images in one UNet batch
 * @param maxBatchWaitMs     longest a request waits for its batch to fill
 * @param maxInFlight        requests read but not yet published; the consumer pauses at this many
 * @param drainTimeoutMs     how long a graceful stop waits for in-flight work to be published
 * @param limits             request bounds and defaults
 * @param kafka              further client properties (security, for instance), applied to every client
 * @param sessionTimeoutMs   consumer session timeout: how long a killed instance's partitions wait for a new owner
 * @param transactionTimeoutMs producer transaction timeout: how long a killed instance's open transaction holds
 *                           back the next owner's offset fetch
 * @param duplicateWindowSize request ids remembered per owned partition for duplicate detection
 * @param duplicateWindowMs  how long a completed request id is remembered
 * @param loopStallMs        liveness fails when the Kafka loop has not iterated for this long
 * @param publishMaxAttempts consecutive failed transactions after which the instance stops
 * @param brokerProbeIntervalMs how often readiness asks the broker
 * @param brokerUnreachableAfterMs readiness turns false this long after the broker last answered
 * @param poisonAfter        a record whose processing was in flight when the process died this many times goes to
 *                           the dead-letter topic as {@code POISON}
 * @param batching           continuous (requests join a running batch at step boundaries) or static
 */
public record GatewaySettings(String bootstrapServers, OutputRecords.Topics topics, String groupId, String instanceId,
                              int workers, int maxBatchImages, long maxBatchWaitMs, int maxInFlight, long drainTimeoutMs,
                              RequestLimits limits, Map<String, String> kafka, int sessionTimeoutMs, int transactionTimeoutMs,
                              int duplicateWindowSize, long duplicateWindowMs, long loopStallMs, int publishMaxAttempts,
                              long brokerProbeIntervalMs, long brokerUnreachableAfterMs, int poisonAfter,
                              BatchingMode batching) {

    public static Builder builder(String bootstrapServers, OutputRecords.Topics topics, RequestLimits limits) {
        return new Builder(bootstrapServers, topics, limits);
    }

    /** The one place gateway defaults are written down. */
    public static final class Builder {
        private final String bootstrapServers;
        private final OutputRecords.Topics topics;
        private final RequestLimits limits;
        private String groupId = "membrane-gateway";
        private String instanceId = "membrane-local";
        private int workers = 1;
        private int maxBatchImages = 8;
        private long maxBatchWaitMs = 50;
        private int maxInFlight = 64;
        private long drainTimeoutMs = 60_000;
        private Map<String, String> kafka = Map.of();
        // 10 s each: a SIGKILLed instance's partitions move within ~12 s (session timeout, then the rebalance);
        // the open transaction it left is aborted by the broker within the same 10 s
        private int sessionTimeoutMs = 10_000;
        private int transactionTimeoutMs = 10_000;
        private int duplicateWindowSize = 10_000;
        private long duplicateWindowMs = 3_600_000;
        private long loopStallMs = 90_000;
        private int publishMaxAttempts = 30;
        private long brokerProbeIntervalMs = 5_000;
        private long brokerUnreachableAfterMs = 15_000;
        private int poisonAfter = 2;
        private BatchingMode batching = BatchingMode.CONTINUOUS;

        private Builder(String bootstrapServers, OutputRecords.Topics topics, RequestLimits limits) {
            this.bootstrapServers = Objects.requireNonNull(bootstrapServers);
            this.topics = Objects.requireNonNull(topics);
            this.limits = Objects.requireNonNull(limits);
        }

        public Builder groupId(String v) { groupId = v; return this; }
        public Builder instanceId(String v) { instanceId = v; return this; }
        public Builder workers(int v) { workers = v; return this; }
        public Builder maxBatchImages(int v) { maxBatchImages = v; return this; }
        public Builder maxBatchWaitMs(long v) { maxBatchWaitMs = v; return this; }
        public Builder maxInFlight(int v) { maxInFlight = v; return this; }
        public Builder drainTimeoutMs(long v) { drainTimeoutMs = v; return this; }
        public Builder kafka(Map<String, String> v) { kafka = Map.copyOf(v); return this; }
        public Builder sessionTimeoutMs(int v) { sessionTimeoutMs = v; return this; }
        public Builder transactionTimeoutMs(int v) { transactionTimeoutMs = v; return this; }
        public Builder duplicateWindowSize(int v) { duplicateWindowSize = v; return this; }
        public Builder duplicateWindowMs(long v) { duplicateWindowMs = v; return this; }
        public Builder loopStallMs(long v) { loopStallMs = v; return this; }
        public Builder publishMaxAttempts(int v) { publishMaxAttempts = v; return this; }
        public Builder brokerProbeIntervalMs(long v) { brokerProbeIntervalMs = v; return this; }
        public Builder brokerUnreachableAfterMs(long v) { brokerUnreachableAfterMs = v; return this; }
        public Builder poisonAfter(int v) { poisonAfter = v; return this; }
        public Builder batching(BatchingMode v) { batching = v; return this; }

        public GatewaySettings build() {
            if (workers < 1 || maxBatchImages < 1 || maxInFlight < 1) throw new IllegalArgumentException("workers, batch and in-flight bounds must be positive");
            if (poisonAfter < 1) throw new IllegalArgumentException("poison-after must be at least 1");
            return new GatewaySettings(bootstrapServers, topics, groupId, instanceId, workers, maxBatchImages, maxBatchWaitMs,
                    maxInFlight, drainTimeoutMs, limits, kafka, sessionTimeoutMs, transactionTimeoutMs, duplicateWindowSize,
                    duplicateWindowMs, loopStallMs, publishMaxAttempts, brokerProbeIntervalMs, brokerUnreachableAfterMs, poisonAfter, batching);
        }
    }
}
