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
     * @param policySource where the policy comes from
     */
    public record Admin(String token, int maxBodyBytes, java.util.Map<String, ServedModel> models, RequestLimits limits,
                        AdapterCatalog catalog, String policySource) {
    }

    public void serving(KafkaGateway gateway, PolicyStore policies) {
        this.gateway = gateway;
        this.policies = policies;
        this.started = true;
    }

    public void serving(KafkaGateway gateway, PolicyStore policies, Admin admin) {
        this.admin = admin;
        serving(gateway, policies);
    }

    /** Null until serving (and the API answers 404 then, as without a token). */
    public Admin admin() {
        return admin;
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
