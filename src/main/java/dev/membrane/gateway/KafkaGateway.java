package dev.membrane.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.MDC;

import dev.membrane.gateway.admission.Admission;
import dev.membrane.gateway.admission.RecentRequests;
import dev.membrane.gateway.kafka.BrokerMonitor;
import dev.membrane.gateway.kafka.KafkaClients;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestParser;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.Received;
import dev.membrane.gateway.poison.AttemptLedger;
import dev.membrane.gateway.publish.Backoff;
import dev.membrane.gateway.publish.FatalPublishException;
import dev.membrane.gateway.publish.PartitionBatch;
import dev.membrane.gateway.publish.PublishFailure;
import dev.membrane.gateway.publish.Publisher;
import dev.membrane.policy.PolicyStore;
import dev.membrane.serving.BatchingMode;

/**
 * The gateway's Kafka side: one thread owns the consumer of the requests topic and the transactional producer;
 * it reads, admits ({@link Admission}), hands work to the {@link GenerationWorkers}, and publishes outcomes
 * ({@link Publisher}).
 *
 * <p>Delivery: every outcome's records (result, audit, dead letter, the crash-loop mark's tombstone) and the
 * consumed offsets go out in one Kafka transaction, released per partition in offset order. A crash, restart or
 * rebalance before the commit aborts it: nothing of it becomes visible to {@code read_committed} consumers and the
 * records are read again, so each request gets exactly one result and one audit record there. A restarted
 * instance with the same {@code instanceId} fences its predecessor. Readers must use
 * {@code isolation.level=read_committed}.
 *
 * <p>Flow control: at most {@code maxInFlight} records are read and unpublished; beyond that the consumer pauses
 * its partitions and keeps polling (so the group does not evict it) until the backlog halves.
 */
public final class KafkaGateway implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KafkaGateway.class.getName());
    private static final long POLL_MS = 500;
    /** The producer's own request limit; each topic's {@code max.message.bytes} usually binds first. */
    static final int PRODUCER_MAX_REQUEST_BYTES = 16 << 20;

    private final GatewaySettings settings;
    private final GatewayMetrics metrics;
    private final KafkaClients clients;
    private final OutputRecords output;
    private final Admission admission;
    private final Batcher batcher;
    private final GenerationWorkers workers;
    private final PartitionTracker tracker = new PartitionTracker();
    private final ConcurrentLinkedQueue<Outcome> finished = new ConcurrentLinkedQueue<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile boolean abrupt;
    private volatile long lastLoopMs = System.currentTimeMillis();
    private volatile String fatal;
    private volatile BrokerMonitor monitor;
    private volatile Consumer<byte[], byte[]> consumer;
    private Thread loop;
    private boolean paused;

    public KafkaGateway(GatewaySettings settings, Map<String, ServedModel> models, Map<String, Admission.ModelCapacity> capacities,
                        PolicyStore policies, GatewayMetrics metrics, KafkaClients clients) {
        this.settings = settings;
        this.metrics = metrics;
        this.clients = clients;
        Map<String, OutputRecords.ModelInfo> infos = new java.util.HashMap<>();
        models.forEach((id, m) -> infos.put(id, m.info()));
        this.output = new OutputRecords(settings.topics(), new OutputRecords.GatewayInfo(settings.instanceId(), infos));
        Map<String, String> classifiers = new java.util.HashMap<>();
        models.forEach((id, m) -> {
            if (m.classifier() != null) classifiers.put(id, m.classifier().card().id());
        });
        this.admission = new Admission(new RequestParser(settings.limits()), policies, capacities, classifiers,
                new RecentRequests(settings.duplicateWindowSize(), settings.duplicateWindowMs()), settings.poisonAfter());
        BatchingMode mode = GenerationWorkers.effectiveMode(settings.batching(), models);
        LOG.info("batching: " + mode.id() + (mode != settings.batching() ? " (asked for " + settings.batching().id() + ")" : ""));
        // continuous batches share a call whatever their steps and schedulers; static ones run every step together
        this.batcher = new Batcher(settings.maxBatchImages(), settings.maxBatchWaitMs(),
                mode == BatchingMode.CONTINUOUS ? WorkItem::sizeKey : WorkItem::batchKey);
        this.workers = new GenerationWorkers(batcher, Map.copyOf(models), this::finishedByWorker, metrics, mode, settings.maxBatchImages());
        metrics.queueDepth(batcher::depth);
    }

    /** With capacities from the models' slots and no memory budget, and real Kafka clients. */
    public KafkaGateway(GatewaySettings settings, Map<String, ServedModel> models, PolicyStore policies, GatewayMetrics metrics) {
        this(settings, models, ServedModel.unbudgeted(models, settings.maxBatchImages()), policies, metrics, KafkaClients.real());
    }

    public void start() {
        workers.start(settings.workers());
        loop = new Thread(this::run, "membrane-kafka");
        loop.start();
    }

    /** Ready: running, nothing fatal, and the broker answered within {@code brokerUnreachableAfterMs}. */
    public boolean ready() {
        BrokerMonitor m = monitor;
        return m != null && m.reachable() && fatal == null && running;
    }

    /** Live: nothing fatal (fencing, a publishing failure past its retries) and the Kafka loop iterated recently. */
    public boolean live() {
        return fatal == null && System.currentTimeMillis() - lastLoopMs < settings.loopStallMs();
    }

    public String fatal() {
        return fatal;
    }

    /** Why not live or not ready, for the health checks' data. */
    public String healthDetail() {
        if (fatal != null) return fatal;
        long stalled = System.currentTimeMillis() - lastLoopMs;
        if (stalled >= settings.loopStallMs()) return "the Kafka loop has not iterated for " + stalled + " ms";
        BrokerMonitor m = monitor;
        if (m == null) return "starting";
        if (!m.reachable()) return "the broker last answered " + (m.lastAnsweredAtMs() == 0 ? "never" : (System.currentTimeMillis() - m.lastAnsweredAtMs()) + " ms ago");
        return running ? "serving" : "draining";
    }

    private Properties common() {
        Properties p = new Properties();
        p.put("bootstrap.servers", settings.bootstrapServers());
        settings.kafka().forEach(p::put);
        return p;
    }

    private Properties consumerConfig() {
        Properties c = common();
        c.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        // static membership: a restart with the same id gets its partitions back without a rebalance
        c.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, settings.instanceId());
        c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Integer.toString(settings.sessionTimeoutMs()));
        c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Integer.toString(Math.max(500, settings.sessionTimeoutMs() / 4)));
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(Math.max(1, settings.maxInFlight() / 2)));
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "membrane-" + settings.instanceId());
        return c;
    }

    private Properties producerConfig() {
        Properties p = common();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "membrane-" + settings.instanceId());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(PRODUCER_MAX_REQUEST_BYTES));
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, Integer.toString(settings.transactionTimeoutMs()));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        // a flush during a broker outage returns within 30 s (not the default 120 s), so the loop keeps iterating
        // and retries with backoff instead of stalling past liveness's bound
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "membrane-" + settings.instanceId());
        return p;
    }

    /** Its connection settings (bootstrap, security, {@code membrane.kafka.client.*}), for other clients of the same cluster. */
    public Properties clientConfig() {
        return common();
    }

    /** The layouts of its records (topics, instance, model files): the playground audits with the same. */
    public OutputRecords records() {
        return output;
    }

    /**
     * A producer configuration for the audit topic outside the transactions (the playground's): idempotent,
     * acks=all, this gateway's connection settings.
     */
    public Properties auditProducerConfig() {
        Properties p = attemptsProducerConfig();
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "membrane-" + settings.instanceId() + "-playground-audit");
        // a compare's images wait for this record: generous, yet bounded
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "15000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        return p;
    }

    private Properties attemptsProducerConfig() {
        Properties p = common();
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "membrane-" + settings.instanceId() + "-attempts");
        return p;
    }

    private Properties attemptsReaderConfig() {
        Properties c = common();
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "membrane-" + settings.instanceId() + "-attempts-reader");
        return c;
    }

    private void run() {
        try (BrokerMonitor m = clients.brokerMonitor(common(), List.of(settings.topics().results(), settings.topics().audit(),
                settings.topics().deadLetters()), settings.brokerProbeIntervalMs(), settings.brokerUnreachableAfterMs());
             Consumer<byte[], byte[]> c = clients.requestsConsumer(consumerConfig());
             AttemptLedger ledger = new AttemptLedger(clients.attemptsReader(attemptsReaderConfig()),
                     clients.attemptsProducer(attemptsProducerConfig()), settings.topics().attempts());
             Publisher publisher = new Publisher(() -> clients.transactionalProducer(producerConfig()), () -> running,
                     () -> lastLoopMs = System.currentTimeMillis(), output, m.limits(), PRODUCER_MAX_REQUEST_BYTES,
                     new Backoff(100, 5_000, settings.publishMaxAttempts()), ledger::clearing)) {
            monitor = m;
            publisher.start();
            consumer = c;
            Loop l = new Loop(c, publisher, ledger);
            c.subscribe(List.of(settings.topics().requests()), l);
            l.run();
            if (!abrupt) c.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(5)));
        } catch (FatalPublishException e) {
            fatal = e.getMessage();
            LOG.log(Level.SEVERE, fatal, e);
        } catch (KafkaException e) {
            fatal = PublishFailure.of(e) != PublishFailure.RETRIABLE ? "fenced or not authorised: " + e : "Kafka loop failed: " + e;
            LOG.log(Level.SEVERE, fatal, e);
        } catch (RuntimeException e) {
            fatal = "Kafka loop failed: " + e;
            LOG.log(Level.SEVERE, fatal, e);
        } finally {
            running = false;
            stopped.countDown();
        }
    }

    /** One run of the loop, with the clients it owns. */
    private final class Loop implements ConsumerRebalanceListener {
        private final Consumer<byte[], byte[]> consumer;
        private final Publisher publisher;
        private final AttemptLedger ledger;

        Loop(Consumer<byte[], byte[]> consumer, Publisher publisher, AttemptLedger ledger) {
            this.consumer = consumer;
            this.publisher = publisher;
            this.ledger = ledger;
        }

        void run() {
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
                    publish();
                    if (tracker.inFlight() == 0) break;
                    if (System.currentTimeMillis() > drainDeadline) {
                        LOG.warning("drain timed out with " + tracker.inFlight() + " requests unpublished; the next owner re-reads them");
                        ledger.handedOver(tracker.unpublished());
                        break;
                    }
                }
                // a long poll: workers wake the loop when an outcome is ready, so publishing does not wait for it
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(POLL_MS));
                } catch (WakeupException woken) {
                    records = ConsumerRecords.empty();
                }
                intake(records);
                collectFinished();
                publish();
                flowControl();
                metrics.inFlight(tracker.inFlight());
            }
            if (abrupt) LOG.warning("stopping abruptly: " + tracker.inFlight() + " unpublished requests will be re-read by the next owner");
        }

        private void intake(ConsumerRecords<byte[], byte[]> records) {
            List<WorkItem> admitted = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : records) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                long now = System.currentTimeMillis();
                Received in = new Received(r.topic(), r.partition(), r.offset(), r.timestamp(), tracker.epoch(tp), r.key(), r.value(), now);
                tracker.read(in);
                Admission.Result result = admission.admit(in, ledger.attempts(in), now);
                if (result instanceof Admission.Admitted a) admitted.add(a.item());
                else finished.add(((Admission.Refused) result).outcome());
            }
            if (admitted.isEmpty()) return;
            ledger.started(admitted.stream().map(WorkItem::input).toList());
            // a request larger than the memory budget allows in one batch goes in parts
            admitted.forEach(w -> w.parts().forEach(batcher::add));
            LOG.info(() -> "admitted " + admitted.size() + " requests: " + admitted.stream().map(w -> w.request().requestId()).toList());
        }

        private void publish() {
            List<PartitionBatch> ready = tracker.ready();
            if (ready.isEmpty()) return;
            Publisher.Attempt attempt = publisher.publish(ready, consumer.groupMetadata(), System.currentTimeMillis());
            if (!(attempt instanceof Publisher.Committed committed)) return;
            ready.forEach(tracker::released);
            long now = System.currentTimeMillis();
            for (Outcome o : committed.published()) {
                ledger.published(o.input());
                if (o.request() != null && !(o instanceof Outcome.Duplicate)) {
                    // a blocked request was generated and its result published, as a completed one: a resend is a duplicate
                    admission.recent().finished(o.input().partition(), o.requestId(),
                            o instanceof Outcome.Completed || o instanceof Outcome.Blocked, now);
                }
                // counted once published: a COMPLETED that never reached the topic is not completed
                metrics.outcome(o);
                log(o);
            }
        }

        private void flowControl() {
            int inFlight = tracker.inFlight();
            if (!paused && inFlight >= settings.maxInFlight()) {
                consumer.pause(consumer.assignment());
                paused = true;
            } else if (paused && running && inFlight <= settings.maxInFlight() / 2) {
                consumer.resume(consumer.paused());
                paused = false;
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> parts) {
            if (!abrupt) {
                collectFinished();
                publish();
            }
            for (TopicPartition tp : parts) release(tp, !abrupt);
        }

        /**
         * Forgets a partition that is no longer ours, and its queued work. {@code handOver}: its marks are taken back
         * (a revocation, where the new owner has not read them yet; not a loss, where it may have).
         */
        private void release(TopicPartition tp, boolean handOver) {
            List<Received> dropped = tracker.revoke(tp);
            admission.recent().forget(tp.partition());
            if (handOver) ledger.handedOver(dropped);
            ledger.forget(tp);
            batcher.removeIf(w -> w.input().partition() == tp.partition() && w.input().topic().equals(tp.topic()));
            if (!dropped.isEmpty()) LOG.info(tp + " released with " + dropped.size() + " unpublished records; the new owner re-reads them");
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> parts) {
            for (TopicPartition tp : parts) {
                tracker.assign(tp);
                ledger.load(tp);
            }
            paused = false;
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> parts) {
            for (TopicPartition tp : parts) release(tp, false);
        }
    }

    /** A worker's outcome: queue it and wake the loop to publish it now. */
    private void finishedByWorker(Outcome o) {
        finished.add(o);
        Consumer<byte[], byte[]> c = consumer;
        if (c != null) c.wakeup();
    }

    private void collectFinished() {
        Outcome next;
        while ((next = finished.poll()) != null) tracker.finish(next);
    }

    private static void log(Outcome o) {
        if (o.requestId() != null) MDC.put("requestId", o.requestId());
        LOG.info(() -> String.format("%s %s in %d ms%s", o.input().position(), o.status(), o.completedAtMs() - o.input().receivedAtMs(),
                o.code() == null ? "" : " (" + o.code() + ": " + o.message() + ")"));
        MDC.remove("requestId");
    }

    /** Graceful stop: stop reading, finish and publish in-flight work (up to the drain timeout), commit, close. */
    @Override
    public void close() {
        running = false;
        Consumer<byte[], byte[]> c = consumer;
        if (c != null) c.wakeup();
        await(settings.drainTimeoutMs() + 15_000);
        batcher.close();
        workers.interrupt();
        try {
            // a worker inside an ONNX Runtime call finishes it; sessions must not close under it
            workers.join(300_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Simulates a crash for tests: stop without publishing or committing anything further. */
    public void closeAbruptly() {
        abrupt = true;
        running = false;
        Consumer<byte[], byte[]> c = consumer;
        if (c != null) c.wakeup();
        batcher.close();
        batcher.drainAll();
        workers.interrupt();
        await(15_000);
    }

    /** Whether every worker has stopped, so no ONNX Runtime session is in use. */
    public boolean workersStopped() {
        return workers.stopped();
    }

    private void await(long ms) {
        try {
            if (!stopped.await(ms, TimeUnit.MILLISECONDS)) LOG.warning("the Kafka loop did not stop within " + ms + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
