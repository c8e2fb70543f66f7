package dev.membrane.gateway;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.common.TopicPartition;

import dev.membrane.gateway.message.Outcome;

/**
 * Records read and not yet published, per assigned partition, in offset order. Outcomes arrive in any order;
 * only a contiguous prefix of finished records is released, so the committed offset never passes a record whose
 * outcome is not published. Confined to the Kafka loop thread.
 */
final class PartitionTracker {
    private final Map<TopicPartition, TreeMap<Long, Outcome>> pending = new HashMap<>();
    private final Map<TopicPartition, Long> epochs = new HashMap<>();
    private long nextEpoch = 1;
    private static final Outcome WAITING = null;

    void assign(TopicPartition tp) {
        pending.put(tp, new TreeMap<>());
        epochs.put(tp, nextEpoch++);
    }

    /** Forgets a partition; outcomes of its in-flight records will be ignored (the new owner re-reads them). */
    int revoke(TopicPartition tp) {
        epochs.remove(tp);
        TreeMap<Long, Outcome> dropped = pending.remove(tp);
        return dropped == null ? 0 : dropped.size();
    }

    long epoch(TopicPartition tp) {
        return epochs.getOrDefault(tp, -1L);
    }

    void read(TopicPartition tp, long offset) {
        pending.get(tp).put(offset, WAITING);
    }

    /** Stores an outcome if its partition is still ours under the same assignment. */
    boolean finish(Outcome o) {
        TopicPartition tp = new TopicPartition(o.source().topic(), o.source().partition());
        if (epoch(tp) != o.source().epoch()) return false;
        TreeMap<Long, Outcome> m = pending.get(tp);
        if (m == null || !m.containsKey(o.source().offset())) return false;
        m.put(o.source().offset(), o);
        return true;
    }

    /** A partition's finished prefix. */
    record Ready(TopicPartition partition, List<Outcome> outcomes, long nextOffset) {
    }

    List<Ready> ready() {
        List<Ready> out = new ArrayList<>();
        pending.forEach((tp, m) -> {
            List<Outcome> done = new ArrayList<>();
            long next = -1;
            for (Map.Entry<Long, Outcome> e : m.entrySet()) {
                if (e.getValue() == null) break;
                done.add(e.getValue());
                next = e.getKey() + 1;
            }
            if (!done.isEmpty()) out.add(new Ready(tp, done, next));
        });
        return out;
    }

    void released(Ready r) {
        TreeMap<Long, Outcome> m = pending.get(r.partition());
        if (m != null) m.headMap(r.nextOffset()).clear();
    }

    int inFlight() {
        int n = 0;
        for (TreeMap<Long, Outcome> m : pending.values()) n += m.size();
        return n;
    }
}
