package dev.membrane.gateway.outcome;

/**
 * Why a request did not complete: the {@code error.code} of its result and the prefix of its audit reason. Each
 * code knows whether its input record also goes to the dead-letter topic: input that this deployment can never
 * serve as sent (malformed, out of bounds, over the memory budget, a poison pill, an output no topic accepts) is
 * kept there for replay; refusals by policy, failures of a valid request and expiries are not.
 */
public enum ErrorCode {
    INVALID_JSON(true),
    MISSING_FIELD(true),
    INVALID_FIELD(true),
    OUT_OF_BOUNDS(true),
    UNKNOWN_MODEL(true),
    /** No model batch within {@code membrane.gateway.memory-budget-mb} can hold even one of its images. */
    OVER_BUDGET(true),
    /** Its processing was in flight when the process died too many times: it is not tried again. */
    POISON(true),
    /** The result is larger than the results topic (or the producer) accepts; the images are dropped. */
    OUTPUT_TOO_LARGE(true),
    NO_POLICY(false),
    POLICY_REFUSED(false),
    /** The prompt matches a blocked term or pattern of its policy's prompt check: nothing was generated. */
    PROMPT_BLOCKED(false),
    /** Generated, and withheld because its policy's output check blocks a label it scored (status BLOCKED). */
    OUTPUT_BLOCKED(false),
    /** Generated, but its policy's output check could not run; nothing is published (fail closed). */
    OUTPUT_CHECK_FAILED(false),
    GENERATION_FAILED(false),
    /** Its {@code deadlineMs}/{@code ttlMs} had passed when the gateway came to it: nothing was generated. */
    DEADLINE_EXCEEDED(false),
    /** Another record with its requestId is in flight or completed: audited only, no result. */
    DUPLICATE_REQUEST(false);

    private final boolean deadLetters;

    ErrorCode(boolean deadLetters) {
        this.deadLetters = deadLetters;
    }

    public boolean deadLetters() {
        return deadLetters;
    }
}
