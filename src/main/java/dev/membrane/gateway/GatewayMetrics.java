package dev.membrane.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import dev.membrane.gateway.outcome.Applied;
import dev.membrane.gateway.outcome.Outcome;

/**
 * The gateway's meters (Prometheus names in parentheses): requests by status ({@code membrane_requests_total}),
 * queue depth and in-flight requests ({@code membrane_queue_depth}, {@code membrane_in_flight}), batch size
 * ({@code membrane_batch_images}), UNet step latency ({@code membrane_unet_step_seconds}), end-to-end latency
 * ({@code membrane_request_seconds}), γ per concept ({@code membrane_adapter_gamma}) and output-check actions per
 * label ({@code membrane_output_check_total}).
 */
public final class GatewayMetrics {
    private final MeterRegistry registry;
    private final DistributionSummary batchImages;
    private final Timer unetStep;
    private final Timer request;
    private final AtomicInteger inFlight = new AtomicInteger();

    public GatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
        batchImages = DistributionSummary.builder("membrane.batch.images").description("images per UNet batch").register(registry);
        unetStep = Timer.builder("membrane.unet.step").description("one UNet call").publishPercentileHistogram().register(registry);
        request = Timer.builder("membrane.request").description("record read to outcome decided").publishPercentileHistogram().register(registry);
        registry.gauge("membrane.in.flight", inFlight);
    }

    void queueDepth(Supplier<Number> depth) {
        io.micrometer.core.instrument.Gauge.builder("membrane.queue.depth", depth).description("requests waiting for a batch").register(registry);
    }

    void inFlight(int n) {
        inFlight.set(n);
    }

    void outcome(Outcome o) {
        Counter.builder("membrane.requests").tag("status", o.status().name()).register(registry).increment();
        request.record(Duration.ofMillis(Math.max(0, o.completedAtMs() - o.input().receivedAtMs())));
        for (Applied a : o.adapters()) {
            DistributionSummary.builder("membrane.adapter.gamma").tag("concept", a.concept()).register(registry).record(a.gamma());
        }
    }

    /** Per image and rule: {@code membrane_output_check_total{label, action}}, action "allow" where the rule did not fire. */
    void outputCheck(dev.membrane.policy.OutputCheck check, dev.membrane.policy.OutputCheck.Verdict verdict) {
        for (var rule : check.rules()) {
            boolean fired = verdict.fired().stream().anyMatch(f -> f.label().equals(rule.label()));
            String action = fired ? rule.action().id() : "allow";
            Counter.builder("membrane.output.check").tag("label", rule.label()).tag("action", action)
                    .description("generated images per output-check rule and the action it took").register(registry).increment();
        }
    }

    void batch(int images, java.util.List<Double> unetCallMs) {
        batchImages.record(images);
        for (double ms : unetCallMs) unetStep.record(Duration.ofNanos((long) (ms * 1e6)));
    }
}
