package dev.membrane.gateway;

import java.util.Map;

import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;

/**
 * How the gateway runs.
 *
 * @param bootstrapServers Kafka bootstrap servers
 * @param topics           topic names
 * @param groupId          consumer group of the requests topic
 * @param instanceId       this instance's stable id: the transactional id's suffix (a restarted instance with the same
 *                         id fences its predecessor and aborts its open transaction at once)
 * @param workers          generation worker threads
 * @param maxBatchImages   most images in one UNet batch
 * @param maxBatchWaitMs   longest a request waits for its batch to fill
 * @param maxInFlight      requests read but not yet published; the consumer pauses at this many
 * @param drainTimeoutMs   how long a graceful stop waits for in-flight work
 * @param limits           request bounds and defaults
 * @param kafka            further client properties (security, for instance), applied to consumer and producer
 */
public record GatewaySettings(String bootstrapServers, OutputRecords.Topics topics, String groupId, String instanceId,
                              int workers, int maxBatchImages, long maxBatchWaitMs, int maxInFlight, long drainTimeoutMs,
                              RequestLimits limits, Map<String, String> kafka) {
}
