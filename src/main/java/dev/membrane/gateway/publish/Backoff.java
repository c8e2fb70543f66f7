package dev.membrane.gateway.publish;

/**
 * Exponential backoff between failed publishing attempts, with a limit on consecutive failures after which the
 * caller gives up (the instance stops and is restarted; its records are re-read).
 */
public final class Backoff {
    private final long initialMs;
    private final long maxMs;
    private final int maxAttempts;
    private int failures;
    private long nextAttemptAtMs;

    public Backoff(long initialMs, long maxMs, int maxAttempts) {
        this.initialMs = initialMs;
        this.maxMs = maxMs;
        this.maxAttempts = maxAttempts;
    }

    public boolean due(long nowMs) {
        return nowMs >= nextAttemptAtMs;
    }

    /** Records a failure; false once the limit is reached. */
    public boolean failed(long nowMs) {
        failures++;
        long delay = Math.min(maxMs, initialMs << Math.min(20, failures - 1));
        nextAttemptAtMs = nowMs + delay;
        return failures < maxAttempts;
    }

    public void succeeded() {
        failures = 0;
        nextAttemptAtMs = 0;
    }

    public int failures() {
        return failures;
    }

    public long nextAttemptAtMs() {
        return nextAttemptAtMs;
    }
}
