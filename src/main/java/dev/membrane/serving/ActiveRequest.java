package dev.membrane.serving;

import java.util.ArrayList;
import java.util.List;

/** A request while it runs in a batch: its samples and what its calls cost. Not thread-safe. */
final class ActiveRequest {
    final PreparedRequest request;
    final List<ActiveSample> samples = new ArrayList<>();
    final long admittedAtNanos = System.nanoTime();
    final List<Double> unetCallMs = new ArrayList<>();
    final List<Integer> batchRows = new ArrayList<>();

    ActiveRequest(PreparedRequest request) {
        this.request = request;
        request.images().forEach(i -> samples.add(new ActiveSample(i)));
    }

    boolean done() {
        return samples.stream().allMatch(ActiveSample::done);
    }

    int rows() {
        return request.rows();
    }
}
