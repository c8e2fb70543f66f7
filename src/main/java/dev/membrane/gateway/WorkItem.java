package dev.membrane.gateway;

import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.gateway.outcome.Received;
import dev.membrane.policy.PolicyDecision;

/**
 * An admitted request waiting for (or in) a batch.
 *
 * @param input    its input record
 * @param request  the request
 * @param decision its policy, adapters verified
 * @param maxImagesPerBatch most of its images one batch may hold within the memory budget (its images are split
 *                 across batches beyond that)
 */
public record WorkItem(Received input, GenerationRequestMessage request, PolicyDecision decision, int maxImagesPerBatch) {

    public long receivedAtMs() {
        return input.receivedAtMs();
    }

    /** Requests with equal keys share UNet calls whatever their adapter stacks and guidance scales. */
    public record BatchKey(String model, int width, int height, int steps, String scheduler) {
    }

    public BatchKey batchKey() {
        return new BatchKey(request.model(), request.width(), request.height(), request.steps(), request.scheduler());
    }
}
