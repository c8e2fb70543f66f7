package dev.membrane.gateway.playground;

import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The audit topic through an idempotent producer (acks=all), one record at a time, waited for: a compare returns
 * its images only after its audit record is acknowledged.
 */
public final class KafkaAuditSink implements AuditSink {
    private final Producer<String, byte[]> producer;
    private final long timeoutMs;

    public KafkaAuditSink(Producer<String, byte[]> producer, long timeoutMs) {
        this.producer = producer;
        this.timeoutMs = timeoutMs;
    }

    @Override
    public void publish(ProducerRecord<String, byte[]> record) throws Exception {
        producer.send(record).get(timeoutMs, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(5));
    }
}
