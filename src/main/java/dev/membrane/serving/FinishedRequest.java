package dev.membrane.serving;

import java.util.List;

/** A request that left a {@link DenoisingBatch}: completed with its images, or failed with the reason. */
public sealed interface FinishedRequest {
    String id();

    /**
     * Every image denoised, decoded and PNG-encoded.
     *
     * @param id      the request's id
     * @param images  in request order
     * @param timings where its time went
     */
    record Completed(String id, List<FinishedImage> images, RequestTimings timings) implements FinishedRequest {
    }

    /**
     * The batch's UNet call or this request's decoding failed; the request has left the batch.
     *
     * @param id     the request's id
     * @param reason the error's message
     * @param cause  the error
     */
    record Failed(String id, String reason, RuntimeException cause) implements FinishedRequest {
    }
}
