package dev.membrane.edge;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/** {@code /q/health/live}, {@code /q/health/ready} and {@code /q/health/started}. */
@ApplicationScoped
public class HealthChecks {
    @Inject
    GatewayState state;

    @org.eclipse.microprofile.config.inject.ConfigProperty(name = "membrane.gateway.instance-id", defaultValue = "membrane-local")
    String instance;

    /** Started: models loaded and prepared, adapters verified, gateway running. */
    @Startup
    HealthCheck started() {
        return () -> HealthCheckResponse.named("membrane-started").status(state.started()).build();
    }

    /** Live: the Kafka loop iterates and nothing fatal happened (another instance fencing this one, say). */
    @Liveness
    HealthCheck live() {
        return () -> {
            var g = state.gateway();
            boolean up = g == null || g.live();
            var b = HealthCheckResponse.named("membrane-kafka-loop").status(up);
            if (g != null && g.fatal() != null) b.withData("fatal", g.fatal());
            if (g != null) b.withData("state", g.healthDetail());
            return b.build();
        };
    }

    /** Ready: started, and the broker answered a direct probe within the last {@code broker-unreachable-after-ms}. */
    @Readiness
    HealthCheck ready() {
        return () -> {
            var g = state.gateway();
            var p = state.policies();
            boolean up = state.started() && g != null && g.ready();
            var b = HealthCheckResponse.named("membrane-gateway").status(up);
            if (g != null) b.withData("state", g.healthDetail());
            b.withData("instance", instance);
            if (p != null) {
                // per instance: a policy produced to the topic shows here once this instance applied it
                b.withData("policyVersion", p.document().version());
                b.withData("policySha256", p.document().sha256());
                b.withData("policySource", p.source());
                b.withData("allPoliciesServable", p.allPoliciesServable());
                if (p.lastError() != null) b.withData("policyReloadError", p.lastError());
            }
            return b.build();
        };
    }
}
