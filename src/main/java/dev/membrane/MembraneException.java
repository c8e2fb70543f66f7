package dev.membrane;

/**
 * The project's own error: a message a user can act on, naming the file, tensor or key at fault.
 * The CLI prints {@link #getMessage()} as one line; the gateway turns it into a result's error.
 */
public class MembraneException extends RuntimeException {
    public MembraneException(String message) {
        super(message);
    }

    public MembraneException(String message, Throwable cause) {
        super(message, cause);
    }
}
