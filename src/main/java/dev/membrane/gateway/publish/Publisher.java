package dev.membrane.gateway.publish;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Logger;

import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.Outcomes;
import dev.membrane.gateway.outcome.Received;

/**
 * Publishes finished outcomes and their offsets in one Kafka transaction, and decides what a failure means
 * ({@link PublishFailure}).
 *
 * <p>A record no topic would accept never enters a transaction: a result over its topic's limit turns its outcome
 * into {@code FAILED}/{@code OUTPUT_TOO_LARGE} without images, and a dead letter over its limit goes out without
 * the original value. A record the broker refuses anyway (its limit lowered since, say) is remembered, the
 * transaction aborted and retried at once with that outcome converted, so one record never holds back the others.
 * Outcomes stay in memory across an abort, so unlike {@code ExactlyOnceMessageProcessor} nothing is rewound or
 * processed again. Confined to the Kafka loop thread.
 */
public final class Publisher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Publisher.class.getName());
    /** Record batch header and record framing, generously. */
    private static final int RECORD_OVERHEAD = 128;

    /** What one attempt did. */
    public sealed interface Attempt permits Committed, Retry, Waiting {
    }

    /** Committed: these outcomes (after any conversion) and offsets are published. */
    public record Committed(List<Outcome> published) implements Attempt {
    }

    /** Aborted: try again after {@code atMs} (now, for a converted refusal). */
    public record Retry(String reason, long atMs) implements Attempt {
    }

    /** Backing off after a failure; nothing was tried. */
    public record Waiting(long untilMs) implements Attempt {
    }

    private final Supplier<Producer<String, byte[]>> producers;
    private final BooleanSupplier running;
    private final Runnable alive;
    private Producer<String, byte[]> producer;
    private boolean replacedSinceLastCommit;
    private final OutputRecords output;
    private final TopicLimits limits;
    private final int producerMaxBytes;
    private final Backoff backoff;
    private final Function<Received, ProducerRecord<String, byte[]>> companion;
    /** Inputs ({@code topic-partition@offset}) whose records the broker refused, with its reason. */
    private final Map<String, String> refusedByBroker = new HashMap<>();

    /**
     * @param companion a further record that publishes with an outcome (the crash-loop mark's tombstone), or null
     */
    /**
     * @param producers makes a transactional producer (again, after a fencing that only a transaction timeout caused)
     * @param running   whether to keep waiting for the broker when initialising transactions
     * @param alive     called while waiting, so liveness knows the loop is not stalled
     */
    public Publisher(Supplier<Producer<String, byte[]>> producers, BooleanSupplier running, Runnable alive, OutputRecords output,
                     TopicLimits limits, int producerMaxBytes, Backoff backoff, Function<Received, ProducerRecord<String, byte[]>> companion) {
        this.companion = companion == null ? in -> null : companion;
        this.producers = producers;
        this.running = running;
        this.alive = alive;
        this.output = output;
        this.limits = limits;
        this.producerMaxBytes = producerMaxBytes;
        this.backoff = backoff;
    }

    /** Creates the producer and initialises transactions, waiting for the broker as long as the gateway runs. */
    public void start() {
        producer = producers.get();
        while (true) {
            try {
                producer.initTransactions();
                return;
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                if (!running.getAsBoolean()) throw e;
                alive.run();
                LOG.warning("waiting for the broker to initialise transactions: " + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        if (producer != null) producer.close(java.time.Duration.ofSeconds(5));
    }

    public Attempt publish(List<PartitionBatch> ready, ConsumerGroupMetadata group, long nowMs) {
        if (!backoff.due(nowMs)) return new Waiting(backoff.nextAttemptAtMs());
        List<Outcome> outcomes = new ArrayList<>();
        List<List<ProducerRecord<String, byte[]>>> records = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (PartitionBatch b : ready) {
            for (Outcome o : b.outcomes()) {
                Fitted fitted = fit(o);
                outcomes.add(fitted.outcome());
                records.add(fitted.records());
            }
            offsets.put(b.partition(), new OffsetAndMetadata(b.nextOffset()));
        }
        Map<Integer, Exception> sendFailures = new ConcurrentHashMap<>();
        try {
            producer.beginTransaction();
            for (int i = 0; i < outcomes.size(); i++) {
                int index = i;
                for (ProducerRecord<String, byte[]> r : records.get(i)) {
                    producer.send(r, (meta, e) -> {
                        if (e != null) sendFailures.putIfAbsent(index, e);
                    });
                }
            }
            // every send's fate is known before deciding to commit (the mock producer would commit regardless)
            producer.flush();
            if (!sendFailures.isEmpty()) throw new KafkaException("a record of the transaction was not accepted", sendFailures.values().iterator().next());
            producer.sendOffsetsToTransaction(offsets, group);
            producer.commitTransaction();
        } catch (KafkaException e) {
            return failed(e, outcomes, sendFailures, nowMs);
        }
        backoff.succeeded();
        replacedSinceLastCommit = false;
        for (Outcome o : outcomes) refusedByBroker.remove(o.input().position());
        return new Committed(List.copyOf(outcomes));
    }

    private Attempt failed(KafkaException e, List<Outcome> outcomes, Map<Integer, Exception> sendFailures, long nowMs) {
        PublishFailure kind = PublishFailure.of(e);
        for (Exception f : sendFailures.values()) if (PublishFailure.of(f) == PublishFailure.FATAL) kind = PublishFailure.FATAL;
        if (kind == PublishFailure.FATAL) throw new FatalPublishException("publishing stopped: " + e.getMessage(), e);
        if (kind == PublishFailure.PRODUCER_FENCED) {
            if (replacedSinceLastCommit) throw new FatalPublishException("publishing stopped, fenced again by a new producer: " + e.getMessage(), e);
            LOG.warning("the transactional producer was fenced or lost its transaction (" + e.getMessage() + "); the consumer is not"
                    + " fenced, so no other instance holds this id: a transaction outlived the transaction timeout. Replacing the"
                    + " producer and retrying");
            producer.close(java.time.Duration.ZERO);
            replacedSinceLastCommit = true;
            start();
            return new Retry("producer replaced", nowMs);
        }
        abort();
        boolean converted = false;
        for (Map.Entry<Integer, Exception> f : sendFailures.entrySet()) {
            if (PublishFailure.of(f.getValue()) != PublishFailure.RECORD_REFUSED) continue;
            String position = outcomes.get(f.getKey()).input().position();
            if (refusedByBroker.putIfAbsent(position, f.getValue().getMessage()) == null) converted = true;
        }
        if (converted) {
            LOG.warning("the broker refused a record (" + refusedByBroker + "); converting it and publishing the others now");
            return new Retry("record refused", nowMs);
        }
        boolean again = backoff.failed(nowMs);
        String reason = "transaction aborted after " + backoff.failures() + " consecutive failures: " + e.getMessage();
        if (!again) throw new FatalPublishException("publishing gave up: " + reason, e);
        LOG.warning(reason + "; retrying in " + (backoff.nextAttemptAtMs() - nowMs) + " ms");
        return new Retry(reason, backoff.nextAttemptAtMs());
    }

    private void abort() {
        try {
            producer.abortTransaction();
        } catch (KafkaException ignored) {
            // a fatal state shows at the next begin; an abortable one is cleared by this abort or the next
        }
    }

    /** An outcome as it will be published, and its records. */
    private record Fitted(Outcome outcome, List<ProducerRecord<String, byte[]>> records) {
    }

    /**
     * The outcome (converted if its result cannot be published) and its records, each serialised once: a dead
     * letter over its limit loses the original value, and the crash-loop tombstone rides along.
     */
    private Fitted fit(Outcome o) {
        List<ProducerRecord<String, byte[]>> records = output.records(o);
        if (o instanceof Outcome.Completed c) {
            String why = whyUnpublishable(o, records);
            if (why != null) {
                o = Outcomes.outputTooLarge(c, why);
                records = output.records(o);
            }
        }
        boolean dlqRefused = refusedByBroker.containsKey(o.input().position());
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
        for (ProducerRecord<String, byte[]> r : records) {
            boolean deadLetter = r.topic().equals(output.topics().deadLetters());
            if (deadLetter && (dlqRefused || sizeOf(r) > limitOf(r.topic()))) out.add(output.deadLetter(o, false));
            else out.add(r);
        }
        ProducerRecord<String, byte[]> extra = companion.apply(o.input());
        if (extra != null) out.add(extra);
        return new Fitted(o, out);
    }

    /** Why a completed outcome's records cannot go out as they are (refused before, or over a topic's limit), or null. */
    private String whyUnpublishable(Outcome o, List<ProducerRecord<String, byte[]>> records) {
        String refused = refusedByBroker.get(o.input().position());
        if (refused != null) return "the results topic refused the result: " + refused;
        for (ProducerRecord<String, byte[]> r : records) {
            int limit = limitOf(r.topic());
            int size = sizeOf(r);
            if (size > limit) return "the " + r.topic() + " record would be " + size + " bytes; the topic accepts " + limit;
        }
        return null;
    }

    private int limitOf(String topic) {
        return Math.min(limits.maxRecordBytes(topic), producerMaxBytes);
    }

    static int sizeOf(ProducerRecord<String, byte[]> r) {
        int size = RECORD_OVERHEAD;
        if (r.key() != null) size += r.key().getBytes(StandardCharsets.UTF_8).length;
        if (r.value() != null) size += r.value().length;
        for (Header h : r.headers()) size += h.key().length() + (h.value() == null ? 0 : h.value().length) + 8;
        return size;
    }
}
