package dev.membrane.gateway.message;

import dev.membrane.gateway.outcome.ErrorCode;

/** A record that fails validation, with a stable code and a message for the producer. */
public final class Rejection extends RuntimeException {
    private final ErrorCode code;
    private final String requestId;

    public Rejection(ErrorCode code, String message, String requestId) {
        super(message, null, false, false);
        this.code = code;
        this.requestId = requestId;
    }

    public ErrorCode code() {
        return code;
    }

    /** The request's id when it could be read, else null. */
    public String requestId() {
        return requestId;
    }
}
