package dev.membrane.gateway;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.common.TopicPartition;

import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.Received;
import dev.membrane.gateway.publish.PartitionBatch;

/**
 * Records read and not yet published, per assigned partition, in offset order. Outcomes arrive in any order;
 * only a contiguous prefix of finished records is released, so the committed offset never passes a record whose
 * outcome is not published. Confined to the Kafka loop thread.
 */
final class PartitionTracker {
    /** A read record and, once decided, its outcome. */
    private record Slot(Received input, Outcome outcome) {
    }

    private final Map<TopicPartition, TreeMap<Long, Slot>> pending = new HashMap<>();
    private final Map<TopicPartition, Long> epochs = new HashMap<>();
    private long nextEpoch = 1;

    void assign(TopicPartition tp) {
        pending.put(tp, new TreeMap<>());
        epochs.put(tp, nextEpoch++);
    }

    /** Forgets a partition and returns its unpublished records; their outcomes will be ignored (the new owner re-reads them). */
    List<Received> revoke(TopicPartition tp) {
        epochs.remove(tp);
        TreeMap<Long, Slot> dropped = pending.remove(tp);
        return dropped == null ? List.of() : dropped.values().stream().map(Slot::input).toList();
    }

    long epoch(TopicPartition tp) {
        return epochs.getOrDefault(tp, -1L);
    }

    void read(Received in) {
        pending.get(new TopicPartition(in.topic(), in.partition())).put(in.offset(), new Slot(in, null));
    }

    /** Stores (or replaces) an outcome if its partition is still ours under the same assignment. */
    boolean finish(Outcome o) {
        Received in = o.input();
        TopicPartition tp = new TopicPartition(in.topic(), in.partition());
        if (epoch(tp) != in.epoch()) return false;
        TreeMap<Long, Slot> m = pending.get(tp);
        if (m == null || !m.containsKey(in.offset())) return false;
        m.put(in.offset(), new Slot(m.get(in.offset()).input(), o));
        return true;
    }

    /** Every partition's finished prefix. */
    List<PartitionBatch> ready() {
        List<PartitionBatch> out = new ArrayList<>();
        pending.forEach((tp, m) -> {
            List<Outcome> done = new ArrayList<>();
            long next = -1;
            for (Map.Entry<Long, Slot> e : m.entrySet()) {
                if (e.getValue().outcome() == null) break;
                done.add(e.getValue().outcome());
                next = e.getKey() + 1;
            }
            if (!done.isEmpty()) out.add(new PartitionBatch(tp, done, next));
        });
        return out;
    }

    void released(PartitionBatch r) {
        TreeMap<Long, Slot> m = pending.get(r.partition());
        if (m != null) m.headMap(r.nextOffset()).clear();
    }

    /** Unpublished records of every partition. */
    List<Received> unpublished() {
        List<Received> out = new ArrayList<>();
        pending.values().forEach(m -> m.values().forEach(s -> out.add(s.input())));
        return out;
    }

    int inFlight() {
        int n = 0;
        for (TreeMap<Long, Slot> m : pending.values()) n += m.size();
        return n;
    }
}
