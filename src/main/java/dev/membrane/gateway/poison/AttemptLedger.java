package dev.membrane.gateway.poison;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import dev.membrane.gateway.outcome.Received;

/**
 * The crash-loop breaker's memory, durable in a compacted topic: for each input record whose generation started
 * and whose outcome is not yet published, how many times that has happened. A mark ({@code key} =
 * {@code topic-partition-offset}, value = the count) is written and flushed before the work starts; the tombstone
 * goes out in the transaction that publishes the outcome, so a published record leaves no mark. The count a new
 * owner reads is how many times a process died with the record in flight; {@code Admission} refuses it as
 * {@code POISON} at {@code membrane.gateway.poison-after}. A graceful hand-over (revocation, drain timeout)
 * takes its marks back, so only deaths count.
 *
 * <p>Each requests partition p keeps its marks in attempts partition p mod (attempts partitions). Confined to the
 * Kafka loop thread.
 */
public final class AttemptLedger implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AttemptLedger.class.getName());
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);
    private final Consumer<String, byte[]> reader;
    private final Producer<String, byte[]> marks;
    private final String topic;
    private final Map<String, Integer> counts = new HashMap<>();
    private int attemptsPartitions = -1;

    public AttemptLedger(Consumer<String, byte[]> reader, Producer<String, byte[]> marks, String topic) {
        this.reader = reader;
        this.marks = marks;
        this.topic = topic;
    }

    public static String key(Received in) {
        return in.topic() + "-" + in.partition() + "-" + in.offset();
    }

    private int partitionOf(int requestsPartition) {
        if (attemptsPartitions < 0) attemptsPartitions = Math.max(1, marks.partitionsFor(topic).size());
        return requestsPartition % attemptsPartitions;
    }

    /** Reads the marks of a newly assigned requests partition (the attempts partition from its start to its end). */
    public void load(TopicPartition requests) {
        TopicPartition tp = new TopicPartition(topic, partitionOf(requests.partition()));
        String prefix = requests.topic() + "-" + requests.partition() + "-";
        reader.assign(List.of(tp));
        reader.seekToBeginning(List.of(tp));
        long end = reader.endOffsets(List.of(tp), READ_TIMEOUT).getOrDefault(tp, 0L);
        long deadline = System.currentTimeMillis() + READ_TIMEOUT.toMillis();
        int found = 0;
        while (reader.position(tp, READ_TIMEOUT) < end && System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
                if (r.key() == null || !r.key().startsWith(prefix)) continue;
                if (r.value() == null) counts.remove(r.key());
                else counts.put(r.key(), Integer.parseInt(new String(r.value(), StandardCharsets.US_ASCII).trim()));
            }
        }
        for (String k : counts.keySet()) if (k.startsWith(prefix)) found++;
        if (found > 0) LOG.warning(requests + ": " + found + " records were in flight when a previous owner stopped without publishing them");
    }

    public void forget(TopicPartition requests) {
        String prefix = requests.topic() + "-" + requests.partition() + "-";
        counts.keySet().removeIf(k -> k.startsWith(prefix));
    }

    /** Times this record's generation started without its outcome being published. */
    public int attempts(Received in) {
        return counts.getOrDefault(key(in), 0);
    }

    /** Marks the start of generation of these records, durably, before the work starts. */
    public void started(Collection<Received> inputs) {
        List<Future<?>> sent = new ArrayList<>();
        for (Received in : inputs) {
            int n = attempts(in) + 1;
            counts.put(key(in), n);
            sent.add(marks.send(new ProducerRecord<>(topic, partitionOf(in.partition()), key(in),
                    Integer.toString(n).getBytes(StandardCharsets.US_ASCII))));
        }
        marks.flush();
        for (Future<?> f : sent) {
            try {
                f.get(READ_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                // the work goes on: losing a mark weakens the breaker, never delivery
                LOG.warning("could not record a generation start in " + topic + ": " + e.getMessage());
                return;
            }
        }
    }

    /** The tombstone that publishes with this record's outcome, or null when it has no mark. */
    public ProducerRecord<String, byte[]> clearing(Received in) {
        if (!counts.containsKey(key(in))) return null;
        return new ProducerRecord<>(topic, partitionOf(in.partition()), key(in), null);
    }

    /** The outcome is published: its mark is gone with it. */
    public void published(Received in) {
        counts.remove(key(in));
    }

    /** A graceful hand-over of unpublished records: take their marks back so the next owner does not count them. */
    public void handedOver(Collection<Received> unpublished) {
        List<Received> marked = unpublished.stream().filter(in -> counts.containsKey(key(in))).toList();
        for (Received in : marked) {
            int n = counts.remove(key(in)) - 1;
            marks.send(new ProducerRecord<>(topic, partitionOf(in.partition()), key(in),
                    n <= 0 ? null : Integer.toString(n).getBytes(StandardCharsets.US_ASCII)));
        }
        if (!marked.isEmpty()) marks.flush();
    }

    @Override
    public void close() {
        reader.close(Duration.ofSeconds(2));
        marks.close(Duration.ofSeconds(2));
    }
}
