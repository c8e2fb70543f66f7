package dev.membrane.gateway.admission;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Request ids seen recently on each owned partition, for duplicate detection: in flight, or completed, within the
 * last {@code maxPerPartition} ids and {@code windowMs}. Ids whose request was refused, failed or expired are
 * forgotten at once, so a producer may retry them under the same id.
 *
 * <p>In memory only: a restart, or a partition moving to another instance, forgets the window, so a duplicate of a
 * request completed before then is served again. Keys route a request id to one partition, so per partition is
 * where a duplicate can be seen. Confined to the Kafka loop thread.
 */
public final class RecentRequests {
    /** What the window knows of an id. */
    public enum State { IN_FLIGHT, COMPLETED }

    /** @param position the first record's {@code topic-partition@offset} */
    public record Seen(State state, String position, long atMs) {
    }

    private final int maxPerPartition;
    private final long windowMs;
    private final Map<Integer, LinkedHashMap<String, Seen>> byPartition = new HashMap<>();

    public RecentRequests(int maxPerPartition, long windowMs) {
        if (maxPerPartition < 1 || windowMs < 1) throw new IllegalArgumentException("the duplicate window needs a size and a duration");
        this.maxPerPartition = maxPerPartition;
        this.windowMs = windowMs;
    }

    /** The earlier record with this id on this partition, or null. */
    public Seen find(int partition, String requestId, long nowMs) {
        LinkedHashMap<String, Seen> ids = byPartition.get(partition);
        if (ids == null) return null;
        expire(ids, nowMs);
        return ids.get(requestId);
    }

    public void inFlight(int partition, String requestId, String position, long nowMs) {
        LinkedHashMap<String, Seen> ids = byPartition.computeIfAbsent(partition, p -> new LinkedHashMap<>());
        ids.remove(requestId);
        ids.put(requestId, new Seen(State.IN_FLIGHT, position, nowMs));
        trim(ids, nowMs);
    }

    /** The request's outcome is published: completed ones stay in the window, others leave it. */
    public void finished(int partition, String requestId, boolean completed, long nowMs) {
        LinkedHashMap<String, Seen> ids = byPartition.get(partition);
        if (ids == null) return;
        Seen s = ids.remove(requestId);
        if (completed && s != null) {
            ids.put(requestId, new Seen(State.COMPLETED, s.position(), nowMs));
            trim(ids, nowMs);
        }
    }

    /** The partition is no longer ours. */
    public void forget(int partition) {
        byPartition.remove(partition);
    }

    private void trim(LinkedHashMap<String, Seen> ids, long nowMs) {
        expire(ids, nowMs);
        Iterator<Map.Entry<String, Seen>> it = ids.entrySet().iterator();
        while (ids.size() > maxPerPartition && it.hasNext()) {
            // an in-flight id is never evicted: its result is still to come and a duplicate must not overtake it
            if (it.next().getValue().state() == State.COMPLETED) it.remove();
        }
    }

    private void expire(LinkedHashMap<String, Seen> ids, long nowMs) {
        ids.values().removeIf(s -> s.state() == State.COMPLETED && nowMs - s.atMs() > windowMs);
    }
}
