package dev.membrane.edge;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

import dev.membrane.onnx.OrtCallGate;
import sun.misc.Signal;

/**
 * {@code serve} owns its shutdown. By default SIGTERM starts the JVM's shutdown hooks, and they run concurrently:
 * ONNX Runtime's own hook ({@code OrtEnvironment$OrtEnvCloser}, the only thing that frees its native environment;
 * {@code OrtEnvironment.close()} does nothing) then frees the environment while a worker is still inside a
 * session, and the JVM crashes in {@code libonnxruntime.so} with nothing published. With these handlers SIGTERM
 * and SIGINT only ask {@code serve} to stop: it drains, closes every session, and only then exits, so the hooks
 * run when no native call is left.
 *
 * <p>Every other command exits on the signal, but only after the ONNX Runtime calls in flight return
 * ({@link #exitAfterNativeCalls}); {@code spm train} meanwhile routes the signals to its checkpointing stop.
 */
public final class ShutdownSignals {
    private static final Logger LOG = Logger.getLogger(ShutdownSignals.class.getName());

    private ShutdownSignals() {
    }

    /** Routes SIGTERM and SIGINT to {@code onStop} (once); a second signal is logged, the drain goes on. */
    public static void install(Runnable onStop) {
        AtomicBoolean stopping = new AtomicBoolean();
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), s -> {
                    if (stopping.compareAndSet(false, true)) {
                        LOG.info("SIG" + s.getName() + ": stopping intake and draining in-flight work");
                        onStop.run();
                    } else {
                        LOG.warning("SIG" + s.getName() + " again: the drain goes on (up to membrane.gateway.drain-timeout-ms)");
                    }
                });
            } catch (IllegalArgumentException e) {
                // the JVM keeps this signal (-Xrs, say): shutdown then falls back to the hooks
                LOG.warning("cannot handle SIG" + name + ": " + e.getMessage());
            }
        }
    }

    /** How long a command's exit waits for ONNX Runtime calls in flight (one UNet step, say) before it goes anyway. */
    static final Duration NATIVE_CALLS_WAIT = Duration.ofSeconds(30);

    /**
     * For the one-shot commands: SIGTERM and SIGINT exit with 128 + the signal's number (143, 130) once the ONNX
     * Runtime calls in flight have returned, with the shutdown hooks run; a second signal exits at once without
     * them (so ONNX Runtime's environment is never freed under a running call either way).
     */
    public static void exitAfterNativeCalls() {
        AtomicBoolean exiting = new AtomicBoolean();
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), s -> {
                    int status = 128 + s.getNumber();
                    if (!exiting.compareAndSet(false, true)) {
                        LOG.warning("SIG" + s.getName() + " again: exiting now");
                        Runtime.getRuntime().halt(status);
                    }
                    LOG.warning("SIG" + s.getName() + ": exiting once the ONNX Runtime calls in flight return");
                    if (!OrtCallGate.closeForExit(NATIVE_CALLS_WAIT)) {
                        LOG.warning("ONNX Runtime calls still running after " + NATIVE_CALLS_WAIT.toSeconds() + " s; exiting without shutdown hooks");
                        Runtime.getRuntime().halt(status);
                    }
                    System.exit(status);
                });
            } catch (IllegalArgumentException e) {
                LOG.warning("cannot handle SIG" + name + ": " + e.getMessage());
            }
        }
    }
}
