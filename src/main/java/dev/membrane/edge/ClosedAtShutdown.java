package dev.membrane.edge;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.logging.Logger;

/**
 * What must outlive SmallRye's Kafka clients: the embedded broker. SmallRye stops its channels' consumers before
 * the application scope is destroyed; this bean is destroyed with that scope, so what it holds closes after them
 * (closing the broker first would leave the policy channel's consumer retrying a gone broker at exit).
 */
@ApplicationScoped
public class ClosedAtShutdown {
    private static final Logger LOG = Logger.getLogger(ClosedAtShutdown.class.getName());
    private final Deque<AutoCloseable> held = new ArrayDeque<>();

    /** Closes {@code resource} at shutdown, after SmallRye's clients, in the reverse order of holding. */
    public synchronized void hold(AutoCloseable resource) {
        held.push(resource);
    }

    @PreDestroy
    synchronized void close() {
        while (!held.isEmpty()) {
            try {
                held.pop().close();
            } catch (Exception e) {
                LOG.warning("closing at shutdown: " + e);
            }
        }
    }
}
