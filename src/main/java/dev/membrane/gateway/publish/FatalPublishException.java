package dev.membrane.gateway.publish;

/** Publishing cannot go on with this producer: the instance stops and liveness fails. */
public final class FatalPublishException extends RuntimeException {
    public FatalPublishException(String message, Throwable cause) {
        super(message, cause);
    }
}
