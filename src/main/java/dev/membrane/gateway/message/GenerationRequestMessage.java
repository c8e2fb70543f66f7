package dev.membrane.gateway.message;

/**
 * A validated record of {@code membrane.requests}, defaults filled in. Moderation is not a field: the policy
 * decides it from tenant and app.
 *
 * @param requestId      the producer's id (1..128 chars); the Kafka key of every output
 * @param tenant         tenant ("" when absent)
 * @param app            app ("" when absent)
 * @param prompt         the prompt
 * @param negativePrompt the negative prompt ("" when absent)
 * @param width          pixels, a multiple of 8
 * @param height         pixels, a multiple of 8
 * @param steps          inference steps
 * @param guidanceScale  classifier-free guidance scale
 * @param seed           seed of the first image (drawn by the gateway when absent)
 * @param seedGiven      whether the producer chose the seed
 * @param scheduler      pndm, ddim or euler
 * @param numImages      images to generate
 * @param model          model id from the model catalog
 * @param deadlineMs     epoch ms after which nobody waits for the answer ({@code deadlineMs}, or the record's
 *                       timestamp + {@code ttlMs}); {@link #NO_DEADLINE} when neither is given
 */
public record GenerationRequestMessage(String requestId, String tenant, String app, String prompt, String negativePrompt,
                                       int width, int height, int steps, double guidanceScale, long seed, boolean seedGiven,
                                       String scheduler, int numImages, String model, long deadlineMs) {
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    /** The request as it was before deadlines existed. */
    public GenerationRequestMessage(String requestId, String tenant, String app, String prompt, String negativePrompt,
                                    int width, int height, int steps, double guidanceScale, long seed, boolean seedGiven,
                                    String scheduler, int numImages, String model) {
        this(requestId, tenant, app, prompt, negativePrompt, width, height, steps, guidanceScale, seed, seedGiven, scheduler,
                numImages, model, NO_DEADLINE);
    }

    public boolean expiredAt(long nowMs) {
        return nowMs > deadlineMs;
    }
}
