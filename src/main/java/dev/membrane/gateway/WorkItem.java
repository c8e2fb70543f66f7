package dev.membrane.gateway;

import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.gateway.message.Outcome;
import dev.membrane.policy.PolicyDecision;

/**
 * A validated request waiting for (or in) a batch.
 *
 * @param source       its input record
 * @param request      the request
 * @param decision     its policy, adapters verified
 * @param receivedAtMs when the gateway read it
 */
record WorkItem(Outcome.SourceRef source, GenerationRequestMessage request, PolicyDecision decision, long receivedAtMs) {

    /** Requests with equal keys share UNet calls whatever their adapter stacks and guidance scales. */
    record BatchKey(String model, int width, int height, int steps, String scheduler) {
    }

    BatchKey batchKey() {
        return new BatchKey(request.model(), request.width(), request.height(), request.steps(), request.scheduler());
    }
}
