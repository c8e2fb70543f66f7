package dev.membrane.onnx;

import ai.onnxruntime.OrtException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Keeps the process's exit from racing native ONNX Runtime calls. The Java binding frees its native environment in
 * a JVM shutdown hook ({@code OrtEnvironment$OrtEnvCloser}), and the hooks run as soon as SIGTERM or Ctrl-C arrives:
 * a thread still inside a session then crashed the JVM in {@code libonnxruntime.so} (exit 134 and an
 * {@code hs_err_pid*.log} in the working directory). Every session call passes this gate; {@link #closeForExit}
 * waits for the calls in flight and holds every later one back for good, so the hooks find no native call left.
 */
public final class OrtCallGate {
    private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();
    private static volatile boolean closed;

    private OrtCallGate() {
    }

    /** A call into ONNX Runtime. */
    @FunctionalInterface
    interface NativeCall<T> {
        T call() throws OrtException;
    }

    /** A native release (close). */
    @FunctionalInterface
    interface NativeRelease {
        void release() throws OrtException;
    }

    /** Runs {@code call} unless the process is exiting, in which case this thread waits for the exit. */
    static <T> T call(NativeCall<T> call) throws OrtException {
        LOCK.readLock().lock();
        try {
            return call.call();
        } finally {
            LOCK.readLock().unlock();
        }
    }

    /**
     * Runs a native release unless the process is exiting; then it is skipped, as the exit frees everything (and a
     * shutdown hook that closes a session must not wait on a gate that never reopens).
     */
    static void release(NativeRelease release) throws OrtException {
        if (closed || !LOCK.readLock().tryLock()) return;
        try {
            release.release();
        } finally {
            LOCK.readLock().unlock();
        }
    }

    /**
     * Waits up to {@code wait} for the calls in flight to return and closes the gate for the rest of the process's
     * life. Returns whether every call returned in time (if not, the gate is closed anyway).
     */
    public static boolean closeForExit(Duration wait) {
        boolean drained;
        try {
            drained = LOCK.writeLock().tryLock(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            drained = false;
        }
        closed = true;
        return drained;
    }

    /** Whether {@link #closeForExit} has run. */
    public static boolean closed() {
        return closed;
    }
}
