package dev.membrane.edge;

import jakarta.enterprise.context.ApplicationScoped;

import dev.membrane.gateway.KafkaGateway;
import dev.membrane.policy.PolicyStore;

/** What the health checks look at: set by {@code serve} once models, adapters and Kafka are up. */
@ApplicationScoped
public class GatewayState {
    private volatile KafkaGateway gateway;
    private volatile PolicyStore policies;
    private volatile boolean started;

    public void serving(KafkaGateway gateway, PolicyStore policies) {
        this.gateway = gateway;
        this.policies = policies;
        this.started = true;
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
