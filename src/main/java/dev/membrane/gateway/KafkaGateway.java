package dev.membrane.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.MDC;

import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.gateway.message.Outcome;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.Rejection;
import dev.membrane.gateway.message.RequestParser;
import dev.membrane.policy.PolicyDecision;
import dev.membrane.policy.PolicyStore;

/**
 * The gateway's Kafka side: one thread owns the consumer of the requests topic and a transactional producer.
 *
 * <p>Delivery: every outcome's records (result, audit, dead letter) and the consumed offsets go out in one Kafka
 * transaction ({@code sendOffsetsToTransaction} with the consumer's group metadata), released per partition in
 * offset order. A crash, restart or rebalance before the commit aborts the transaction: nothing of it becomes
 * visible to {@code read_committed} consumers and the records are read again, so each request gets exactly one
 * result and one audit record there. Transactions were chosen over deduplication because they need no state
 * store of published ids and also cover the committed offset, and a restarted instance with the same
 * {@code instanceId} fences its predecessor. Readers must use {@code isolation.level=read_committed}.
 *
 * <p>Flow control: at most {@code maxInFlight} records are read and unpublished; beyond that the consumer pauses
 * its partitions and keeps polling (so the group does not evict it) until the backlog halves.
 */
public final class KafkaGateway implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KafkaGateway.class.getName());
    private static final long POLL_MS = 500;

    private final GatewaySettings settings;
    private final Map<String, ServedModel> models;
    private final PolicyStore policies;
    private final GatewayMetrics metrics;
    private final RequestParser parser;
    private final OutputRecords output;
    private final Batcher batcher;
    private final GenerationWorkers workers;
    private final PartitionTracker tracker = new PartitionTracker();
    private final ConcurrentLinkedQueue<Outcome> finished = new ConcurrentLinkedQueue<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile boolean abrupt;
    private volatile boolean kafkaReachable;
    private volatile long lastLoopMs = System.currentTimeMillis();
    private volatile String fatal;
    private Thread loop;
    private boolean paused;
    private volatile KafkaConsumer<byte[], byte[]> consumer;

    public KafkaGateway(GatewaySettings settings, Map<String, ServedModel> models, PolicyStore policies, GatewayMetrics metrics) {
        this.settings = settings;
        this.models = Map.copyOf(models);
        this.policies = policies;
        this.metrics = metrics;
        this.parser = new RequestParser(settings.limits());
        Map<String, OutputRecords.ModelInfo> infos = new HashMap<>();
        models.forEach((id, m) -> infos.put(id, m.info()));
        this.output = new OutputRecords(settings.topics(), new OutputRecords.GatewayInfo(settings.instanceId(), infos));
        this.batcher = new Batcher(settings.maxBatchImages(), settings.maxBatchWaitMs());
        this.workers = new GenerationWorkers(batcher, this.models, this::finishedByWorker, metrics);
        metrics.queueDepth(batcher::depth);
    }

    public void start() {
        workers.start(settings.workers());
        loop = new Thread(this::run, "membrane-kafka");
        loop.start();
    }

    /** Ready: models loaded (constructor), policy in force, and the broker answered. */
    public boolean ready() {
        return kafkaReachable && fatal == null && running;
    }

    /** Live: the Kafka loop is iterating. */
    public boolean live() {
        return fatal == null && (!running || System.currentTimeMillis() - lastLoopMs < 60_000);
    }

    public String fatal() {
        return fatal;
    }

    private Properties common() {
        Properties p = new Properties();
        p.put("bootstrap.servers", settings.bootstrapServers());
        settings.kafka().forEach(p::put);
        return p;
    }

    private void run() {
        Properties c = common();
        c.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(Math.max(1, settings.maxInFlight() / 2)));
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "membrane-" + settings.instanceId());
        Properties p = common();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "membrane-" + settings.instanceId());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(16 << 20));
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "30000");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "membrane-" + settings.instanceId());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            kafkaReachable = true;
            this.consumer = consumer;
            consumer.subscribe(List.of(settings.topics().requests()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                    if (!abrupt) {
                        collectFinished();
                        publish(consumer, producer);
                    }
                    for (TopicPartition tp : parts) {
                        int dropped = tracker.revoke(tp);
                        if (dropped > 0) LOG.info(tp + " revoked with " + dropped + " unpublished records; the new owner re-reads them");
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                    parts.forEach(tracker::assign);
                    paused = false;
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> parts) {
                    parts.forEach(tracker::revoke);
                }
            });
            long drainDeadline = Long.MAX_VALUE;
            while (true) {
                lastLoopMs = System.currentTimeMillis();
                if (!running) {
                    if (abrupt) break;
                    if (drainDeadline == Long.MAX_VALUE) {
                        drainDeadline = System.currentTimeMillis() + settings.drainTimeoutMs();
                        consumer.pause(consumer.assignment());
                        paused = true;
                        LOG.info("draining " + tracker.inFlight() + " in-flight requests before stopping");
                    }
                    collectFinished();
                    publish(consumer, producer);
                    if (tracker.inFlight() == 0 || System.currentTimeMillis() > drainDeadline) break;
                }
                // a long poll: workers wake the loop when an outcome is ready, so publishing does not wait for it
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(POLL_MS));
                } catch (WakeupException woken) {
                    records = ConsumerRecords.empty();
                }
                kafkaReachable = true;
                for (ConsumerRecord<byte[], byte[]> r : records) intake(r);
                collectFinished();
                publish(consumer, producer);
                flowControl(consumer);
                metrics.inFlight(tracker.inFlight());
            }
            if (abrupt) {
                LOG.warning("stopping abruptly: " + tracker.inFlight() + " unpublished requests will be re-read by the next owner");
            } else if (tracker.inFlight() > 0) {
                LOG.warning("drain timed out with " + tracker.inFlight() + " requests unpublished; they will be re-read");
            }
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            fatal = "another instance with transactional id membrane-" + settings.instanceId() + " took over: " + e.getMessage();
            LOG.severe(fatal);
        } catch (RuntimeException e) {
            fatal = "Kafka loop failed: " + e;
            LOG.log(Level.SEVERE, fatal, e);
        } finally {
            kafkaReachable = false;
            stopped.countDown();
        }
    }

    /** A worker's outcome: queue it and wake the loop to publish it now. */
    private void finishedByWorker(Outcome o) {
        finished.add(o);
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) c.wakeup();
    }

    private void intake(ConsumerRecord<byte[], byte[]> r) {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        long now = System.currentTimeMillis();
        Outcome.SourceRef source = new Outcome.SourceRef(r.topic(), r.partition(), r.offset(), r.timestamp(), tracker.epoch(tp));
        tracker.read(tp, r.offset());
        GenerationRequestMessage req;
        try {
            req = parser.parse(r.value());
        } catch (Rejection e) {
            finished.add(new Outcome(Outcome.Status.REJECTED, source, e.requestId(), null, null, e.code(), e.getMessage(),
                    List.of(), List.of(), null, r.key(), r.value(), now, System.currentTimeMillis()));
            return;
        }
        PolicyDecision decision = policies.decide(req.tenant(), req.app());
        String refusal = decision.refusal();
        String code = decision.policy() == null ? "NO_POLICY" : "POLICY_REFUSED";
        if (refusal == null) {
            ServedModel model = models.get(req.model());
            int needed = decision.policy().stacking().slotsNeeded(decision.adapters().stream().map(a -> a.file().rank()).toList());
            if (needed > model.slots()) {
                refusal = "policy '" + decision.policy().id() + "' needs " + needed + " adapter slots; model '" + model.id()
                        + "' is prepared with " + model.slots();
            }
        }
        if (refusal != null) {
            MDC.put("requestId", req.requestId());
            LOG.warning("refusing request: " + refusal);
            MDC.remove("requestId");
            finished.add(new Outcome(Outcome.Status.REJECTED, source, req.requestId(), req, decision, code, refusal,
                    List.of(), List.of(), null, r.key(), r.value(), now, System.currentTimeMillis()));
            return;
        }
        batcher.add(new WorkItem(source, req, decision, now));
    }

    private void collectFinished() {
        Outcome next;
        while ((next = finished.poll()) != null) {
            Outcome o = next;
            if (!tracker.finish(o)) continue;
            metrics.outcome(o);
            if (o.requestId() != null) MDC.put("requestId", o.requestId());
            LOG.info(() -> String.format("%s %s in %d ms%s", o.source().topic() + "-" + o.source().partition() + "@" + o.source().offset(),
                    o.status(), o.completedAtMs() - o.receivedAtMs(), o.errorCode() == null ? "" : " (" + o.errorCode() + ": " + o.errorMessage() + ")"));
            MDC.remove("requestId");
        }
    }

    /** Publishes every partition's finished prefix with its offsets in one transaction. */
    private void publish(KafkaConsumer<byte[], byte[]> consumer, KafkaProducer<String, byte[]> producer) {
        List<PartitionTracker.Ready> ready = tracker.ready();
        if (ready.isEmpty()) return;
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        List<ProducerRecord<String, byte[]>> records = new ArrayList<>();
        for (PartitionTracker.Ready r : ready) {
            for (Outcome o : r.outcomes()) records.addAll(output.records(o));
            offsets.put(r.partition(), new OffsetAndMetadata(r.nextOffset()));
        }
        try {
            producer.beginTransaction();
            for (ProducerRecord<String, byte[]> rec : records) producer.send(rec);
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
            ready.forEach(tracker::released);
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            throw e;
        } catch (KafkaException e) {
            LOG.log(Level.WARNING, "transaction aborted, will retry: " + e.getMessage(), e);
            try {
                producer.abortTransaction();
            } catch (KafkaException ignored) {
                // the next begin will tell
            }
        }
    }

    private void flowControl(KafkaConsumer<byte[], byte[]> consumer) {
        int inFlight = tracker.inFlight();
        if (!paused && inFlight >= settings.maxInFlight()) {
            consumer.pause(consumer.assignment());
            paused = true;
        } else if (paused && running && inFlight <= settings.maxInFlight() / 2) {
            consumer.resume(consumer.paused());
            paused = false;
        }
    }

    /** Graceful stop: stop reading, finish and publish in-flight work (up to the drain timeout), commit, close. */
    @Override
    public void close() {
        running = false;
        wake();
        awaitStop(settings.drainTimeoutMs() + 30_000);
        batcher.close();
        try {
            workers.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Simulates a crash: nothing more is published; unpublished work is left for the next owner. */
    public void closeAbruptly() {
        abrupt = true;
        running = false;
        wake();
        batcher.close();
        batcher.drainAll();
        workers.interrupt();
        awaitStop(30_000);
    }

    private void wake() {
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) c.wakeup();
    }

    private void awaitStop(long ms) {
        try {
            if (loop != null) stopped.await(ms, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
