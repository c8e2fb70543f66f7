package dev.membrane.edge;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

import sun.misc.Signal;

/**
 * {@code serve} owns its shutdown. By default SIGTERM starts the JVM's shutdown hooks, and they run concurrently:
 * ONNX Runtime's own hook ({@code OrtEnvironment$OrtEnvCloser}, the only thing that frees its native environment;
 * {@code OrtEnvironment.close()} does nothing) then frees the environment while a worker is still inside a
 * session, and the JVM crashes in {@code libonnxruntime.so} with nothing published. With these handlers SIGTERM
 * and SIGINT only ask {@code serve} to stop: it drains, closes every session, and only then exits, so the hooks
 * run when no native call is left.
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
}
