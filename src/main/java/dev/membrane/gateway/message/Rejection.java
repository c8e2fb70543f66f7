package dev.membrane.gateway.message;

/**
 * A request the gateway refuses, with a stable code and a message for the producer.
 * Codes: {@code INVALID_JSON}, {@code MISSING_FIELD}, {@code INVALID_FIELD}, {@code OUT_OF_BOUNDS},
 * {@code UNKNOWN_MODEL}, {@code NO_POLICY}, {@code POLICY_REFUSED}.
 */
public final class Rejection extends RuntimeException {
    private final String code;
    private final String requestId;

    public Rejection(String code, String message, String requestId) {
        super(message, null, false, false);
        this.code = code;
        this.requestId = requestId;
    }

    public String code() {
        return code;
    }

    /** The request's id when it could be read, else null. */
    public String requestId() {
        return requestId;
    }
}
