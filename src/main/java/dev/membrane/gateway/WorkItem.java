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
 * @param firstImage the first of the request's images this item generates (0 unless split)
 * @param imageCount how many of its images this item generates
 */
public record WorkItem(Received input, GenerationRequestMessage request, PolicyDecision decision, int maxImagesPerBatch,
                       int firstImage, int imageCount) {

    /** The whole request as one item. */
    public WorkItem(Received input, GenerationRequestMessage request, PolicyDecision decision, int maxImagesPerBatch) {
        this(input, request, decision, maxImagesPerBatch, 0, request.numImages());
    }

    /** The request's images in parts of at most {@code maxImagesPerBatch}: one item unless the budget splits it. */
    public java.util.List<WorkItem> parts() {
        if (imageCount <= maxImagesPerBatch) return java.util.List.of(this);
        java.util.List<WorkItem> out = new java.util.ArrayList<>();
        for (int first = firstImage; first < firstImage + imageCount; first += maxImagesPerBatch) {
            out.add(new WorkItem(input, request, decision, maxImagesPerBatch, first, Math.min(maxImagesPerBatch, firstImage + imageCount - first)));
        }
        return out;
    }

    public boolean split() {
        return imageCount != request.numImages();
    }

    public long receivedAtMs() {
        return input.receivedAtMs();
    }

    /** Requests with equal keys share UNet calls whatever their adapter stacks and guidance scales. */
    public record BatchKey(String model, int width, int height, int steps, String scheduler) {
    }

    /** Requests with equal keys can share a continuous batch whatever their steps, schedulers, stacks and guidance. */
    public record SizeKey(String model, int width, int height) {
    }

    public SizeKey sizeKey() {
        return new SizeKey(request.model(), request.width(), request.height());
    }

    public BatchKey batchKey() {
        return new BatchKey(request.model(), request.width(), request.height(), request.steps(), request.scheduler());
    }
}
