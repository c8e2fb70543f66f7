package dev.membrane.cli;

import java.util.Map;

import dev.membrane.gateway.GatewaySettings;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.serving.BatchingMode;

/**
 * The composition root of the gateway's settings: configuration keys onto {@link GatewaySettings.Builder}. A key
 * that is not set leaves the builder's default, so every default has one source.
 */
final class GatewayComposition {
    private GatewayComposition() {
    }

    static GatewaySettings settings(MembraneConfig config, String bootstrap, RequestLimits limits, Map<String, String> kafkaClient) {
        MembraneConfig.Topics t = config.topics();
        MembraneConfig.Gateway g = config.gateway();
        GatewaySettings.Builder b = GatewaySettings.builder(bootstrap,
                new OutputRecords.Topics(t.requests(), t.results(), t.audit(), t.deadLetters(), t.attempts()), limits);
        b.instanceId(g.instanceId()).kafka(kafkaClient);
        g.groupId().ifPresent(b::groupId);
        g.workers().ifPresent(b::workers);
        g.maxBatchImages().ifPresent(b::maxBatchImages);
        g.maxBatchWaitMs().ifPresent(b::maxBatchWaitMs);
        g.maxInFlight().ifPresent(b::maxInFlight);
        g.drainTimeoutMs().ifPresent(b::drainTimeoutMs);
        g.sessionTimeoutMs().ifPresent(b::sessionTimeoutMs);
        g.transactionTimeoutMs().ifPresent(b::transactionTimeoutMs);
        g.duplicateWindowSize().ifPresent(b::duplicateWindowSize);
        g.duplicateWindowMs().ifPresent(b::duplicateWindowMs);
        g.loopStallMs().ifPresent(b::loopStallMs);
        g.publishMaxAttempts().ifPresent(b::publishMaxAttempts);
        g.brokerProbeIntervalMs().ifPresent(b::brokerProbeIntervalMs);
        g.brokerUnreachableAfterMs().ifPresent(b::brokerUnreachableAfterMs);
        g.poisonAfter().ifPresent(b::poisonAfter);
        g.batching().map(BatchingMode::parse).ifPresent(b::batching);
        return b.build();
    }
}
