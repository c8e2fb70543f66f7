package dev.membrane.training;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM during training ask the loop to stop after the current iteration, save a checkpoint
 * and exit, instead of the JVM's default of running shutdown hooks at once and losing the iterations since the
 * last checkpoint. The previous handlers come back on {@link #close()}.
 */
final class StopSignal implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(StopSignal.class.getName());
    private final AtomicBoolean requested = new AtomicBoolean();
    private final List<Signal> signals = new ArrayList<>();
    private final List<SignalHandler> previous = new ArrayList<>();

    static StopSignal install() {
        StopSignal s = new StopSignal();
        for (String name : List.of("INT", "TERM")) {
            try {
                Signal signal = new Signal(name);
                SignalHandler old = Signal.handle(signal, sig -> {
                    if (!s.requested.getAndSet(true)) LOG.warning("SIG" + sig.getName() + ": saving a checkpoint after this iteration, then stopping");
                });
                s.signals.add(signal);
                s.previous.add(old);
            } catch (IllegalArgumentException e) {
                LOG.fine("signal " + name + " not available: " + e.getMessage());
            }
        }
        return s;
    }

    boolean requested() {
        return requested.get();
    }

    void request() {
        requested.set(true);
    }

    @Override
    public void close() {
        for (int i = 0; i < signals.size(); i++) Signal.handle(signals.get(i), previous.get(i));
    }
}
