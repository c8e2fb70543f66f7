package dev.membrane.gateway;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.function.Predicate;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.membrane.gateway.kafka.BrokerMonitor;
import dev.membrane.gateway.kafka.KafkaClients;
import dev.membrane.gateway.publish.TopicLimits;

/**
 * Kafka's own {@code MockConsumer} and {@code MockProducer} behind {@link KafkaClients}, for unit tests of the loop
 * without a broker. The transactional producer can be told to refuse records the way a broker with a lower
 * {@code max.message.bytes} would ({@link #brokerRefuses}).
 */
final class MockKafka implements KafkaClients {
    final String requests;
    final String attempts;
    final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    final MockConsumer<String, byte[]> attemptsReader = new MockConsumer<>("earliest");
    /** The transactional producer in use; the gateway makes a new one after a fencing. */
    volatile RefusingProducer producer;
    private final List<RefusingProducer> producers = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Whether the next producer made is fenced already (another live instance with the same id). */
    volatile boolean nextProducerFenced;
    final MockProducer<String, byte[]> attemptsProducer;
    volatile TopicLimits limits = TopicLimits.fixed(TopicLimits.BROKER_DEFAULT);

    MockKafka(String requests, String attempts, int partitions) {
        this.requests = requests;
        this.attempts = attempts;
        List<PartitionInfo> infos = new ArrayList<>();
        Node node = new Node(0, "localhost", 9092);
        for (int p = 0; p < partitions; p++) infos.add(new PartitionInfo(attempts, p, node, new Node[] {node}, new Node[] {node}));
        Cluster cluster = new Cluster("mock", List.of(node), infos, Set.of(), Set.of());
        producer = new RefusingProducer();
        producers.add(producer);
        attemptsProducer = new MockProducer<>(cluster, true, null, new StringSerializer(), new ByteArraySerializer());
        Map<TopicPartition, Long> zero = new java.util.HashMap<>();
        for (int p = 0; p < partitions; p++) {
            zero.put(new TopicPartition(requests, p), 0L);
            zero.put(new TopicPartition(attempts, p), 0L);
        }
        consumer.updateBeginningOffsets(zero);
        attemptsReader.updateBeginningOffsets(zero);
        attemptsReader.updateEndOffsets(zero);
    }

    /** A transactional MockProducer that fails sends matching a predicate with RecordTooLargeException. */
    static final class RefusingProducer extends MockProducer<String, byte[]> {
        volatile Predicate<ProducerRecord<String, byte[]>> refuse = r -> false;
        /** Fenced as soon as initialised: another instance's producer with the same transactional id won. */
        volatile boolean fencedOnInit;

        @Override
        public void initTransactions() {
            super.initTransactions();
            if (fencedOnInit) fenceProducer();
        }

        RefusingProducer() {
            super(true, null, new StringSerializer(), new ByteArraySerializer());
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
            if (refuse.test(record)) {
                RecordTooLargeException e = new RecordTooLargeException("the message is " + record.value().length + " bytes (a test broker limit)");
                if (callback != null) callback.onCompletion(null, e);
                return java.util.concurrent.CompletableFuture.failedFuture(e);
            }
            return super.send(record, callback);
        }
    }

    void brokerRefuses(Predicate<ProducerRecord<String, byte[]>> which) {
        producer.refuse = which;
    }

    /** Assigns these request partitions (as a rebalance would) at the next poll. */
    void assign(int... partitions) {
        List<TopicPartition> parts = new ArrayList<>();
        for (int p : partitions) parts.add(new TopicPartition(requests, p));
        consumer.schedulePollTask(() -> consumer.rebalance(parts));
    }

    void add(int partition, long offset, String key, String json) {
        consumer.schedulePollTask(() -> consumer.addRecord(new ConsumerRecord<>(requests, partition, offset, key == null ? null : key.getBytes(),
                json.getBytes())));
    }

    /** Records committed by the transactional producers to a topic. */
    List<ProducerRecord<String, byte[]>> committed(String topic) {
        return producers.stream().flatMap(p -> p.history().stream()).filter(r -> r.topic().equals(topic)).toList();
    }

    @Override
    public Consumer<byte[], byte[]> requestsConsumer(Properties config) {
        return consumer;
    }

    @Override
    public Producer<String, byte[]> transactionalProducer(Properties config) {
        if (producer.closed()) {
            RefusingProducer next = new RefusingProducer();
            next.refuse = producer.refuse;
            next.fencedOnInit = nextProducerFenced;
            producers.add(next);
            producer = next;
        }
        return producer;
    }

    @Override
    public Producer<String, byte[]> attemptsProducer(Properties config) {
        return attemptsProducer;
    }

    @Override
    public Consumer<String, byte[]> attemptsReader(Properties config) {
        return attemptsReader;
    }

    @Override
    public BrokerMonitor brokerMonitor(Properties config, Collection<String> topics, long probeIntervalMs, long unreachableAfterMs) {
        // limits read through at every call, so a test can change them while the gateway runs
        return BrokerMonitor.fixed(topic -> limits.maxRecordBytes(topic));
    }
}
