package dev.membrane.gateway.message;

import java.util.List;

import dev.membrane.policy.PolicyDecision;

/**
 * How one input record ended, with everything its result, audit record and (for rejections) dead letter need.
 *
 * @param status         COMPLETED, REJECTED or FAILED
 * @param source         where the record came from
 * @param requestId      the request's id, or null when it could not be read
 * @param request        the validated request, or null when validation failed
 * @param decision       the policy decision, or null before one was made
 * @param errorCode      a stable code when not completed
 * @param errorMessage   the reason when not completed
 * @param images         the images when completed
 * @param adapters       the adapters applied, with transport scores
 * @param timings        stage timings of the batch that produced the images (null otherwise)
 * @param originalKey    the input record's key bytes (for the dead letter)
 * @param originalValue  the input record's value bytes (for the dead letter)
 * @param receivedAtMs   when the gateway read the record
 * @param completedAtMs  when the outcome was decided
 */
public record Outcome(Status status, SourceRef source, String requestId, GenerationRequestMessage request,
                      PolicyDecision decision, String errorCode, String errorMessage, List<ImageOut> images,
                      List<AppliedAdapterOut> adapters, BatchTimings timings, byte[] originalKey, byte[] originalValue,
                      long receivedAtMs, long completedAtMs) {

    public enum Status { COMPLETED, REJECTED, FAILED }

    /** Where an input record came from; {@code epoch} ties it to one assignment of its partition. */
    public record SourceRef(String topic, int partition, long offset, long timestamp, long epoch) {
    }

    /** One generated image. */
    public record ImageOut(byte[] png, String sha256, int width, int height, long seed) {
    }

    /** One applied adapter as audit reports it. */
    public record AppliedAdapterOut(String concept, String category, String sha256, int rank, double sf, double st, double gamma) {
    }

    /** Stage timings of a batch, in milliseconds, and its size. */
    public record BatchTimings(double queueMs, double textEncodingMs, double denoisingMs, double decodingMs, double totalMs,
                               int batchImages, int batchRequests, String device, String executionProvider) {
    }

    /** Whether a dead letter goes out too: malformed or out-of-bounds input. Policy refusals are not malformed. */
    public boolean deadLetter() {
        return status == Status.REJECTED && request == null;
    }
}
