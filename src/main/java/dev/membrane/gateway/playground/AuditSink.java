package dev.membrane.gateway.playground;

import org.apache.kafka.clients.producer.ProducerRecord;

/** Where the playground's audit records go; {@link #publish} returns once the record is durable, or throws. */
public interface AuditSink extends AutoCloseable {
    void publish(ProducerRecord<String, byte[]> record) throws Exception;

    @Override
    default void close() {
    }
}
