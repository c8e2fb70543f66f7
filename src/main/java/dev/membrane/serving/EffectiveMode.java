package dev.membrane.serving;

/**
 * The batching mode a {@link DenoisingBatch} runs in, which can differ from the one asked for.
 *
 * @param mode   the mode in force
 * @param reason why it differs from the requested one, or "" when it does not (the caller logs it at start)
 */
public record EffectiveMode(BatchingMode mode, String reason) {
    public boolean fellBack() {
        return !reason.isEmpty();
    }
}
