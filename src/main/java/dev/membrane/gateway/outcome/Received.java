package dev.membrane.gateway.outcome;

/**
 * An input record as the gateway read it: where it came from and its bytes (kept for the dead letter).
 *
 * @param topic        source topic
 * @param partition    source partition
 * @param offset       source offset
 * @param timestamp    the record's timestamp (epoch ms)
 * @param epoch        the assignment of its partition it was read under; outcomes of an older one are dropped
 * @param key          key bytes, or null
 * @param value        value bytes, or null
 * @param receivedAtMs when the gateway read it
 */
public record Received(String topic, int partition, long offset, long timestamp, long epoch, byte[] key, byte[] value,
                       long receivedAtMs) {

    /** {@code topic-partition@offset}, for logs. */
    public String position() {
        return topic + "-" + partition + "@" + offset;
    }
}
