package dev.membrane.edge;

import jakarta.enterprise.context.ApplicationScoped;

import dev.membrane.gateway.KafkaGateway;
import dev.membrane.gateway.ServedModel;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.policy.PolicyStore;
import dev.membrane.spm.catalog.AdapterCatalog;

/** What the health checks look at: set by {@code serve} once models, adapters and Kafka are up. */
@ApplicationScoped
public class GatewayState {
    private volatile KafkaGateway gateway;
    private volatile PolicyStore policies;
    private volatile boolean started;
    private volatile Admin admin;

    /**
     * What the admin API reads of a running gateway.
     *
     * @param token        its bearer token, or null: the API is off (404)
     * @param maxBodyBytes the largest request body it reads
     * @param models       the served models by id
     * @param limits       the request bounds (the same as Kafka requests')
     * @param catalog      the adapter catalog
     * @param playground   the compare behind {@code POST /api/compare}
     */
    public record Admin(String token, int maxBodyBytes, java.util.Map<String, ServedModel> models, RequestLimits limits,
                        AdapterCatalog catalog, dev.membrane.gateway.playground.Playground playground) {
    }

    public void serving(KafkaGateway gateway, PolicyStore policies, Admin admin) {
        this.gateway = gateway;
        this.policies = policies;
        this.started = true;
        // last: a call that sees the admin view sees the policies too
        this.admin = admin;
    }

    /** Null until serving and after {@link #stopAdmin} (the API answers 404 then, as without a token). */
    public Admin admin() {
        return admin;
    }

    private final java.util.concurrent.atomic.AtomicInteger adminCalls = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Runs an admin call that uses model sessions, or returns null when the API is off; {@link #stopAdmin} waits for
     * the calls in flight before the sessions close.
     */
    public <T> T withModels(java.util.function.Function<Admin, T> call) {
        adminCalls.incrementAndGet();
        try {
            Admin a = admin;
            return a == null ? null : call.apply(a);
        } finally {
            adminCalls.decrementAndGet();
        }
    }

    /** Turns the admin API off and waits up to {@code timeoutMs} for calls in flight; whether none is left. */
    public boolean stopAdmin(long timeoutMs) throws InterruptedException {
        admin = null;
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (adminCalls.get() > 0 && System.currentTimeMillis() < deadline) Thread.sleep(20);
        return adminCalls.get() == 0;
    }

    public KafkaGateway gateway() {
        return gateway;
    }

    public PolicyStore policies() {
        return policies;
    }

    public boolean started() {
        return started;
    }
}
