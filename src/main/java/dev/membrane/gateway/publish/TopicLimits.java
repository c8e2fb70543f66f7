package dev.membrane.gateway.publish;

/** The largest record each output topic accepts, as far as the gateway knows. */
@FunctionalInterface
public interface TopicLimits {
    /** Bytes of the largest record batch the topic accepts (its {@code max.message.bytes}). */
    int maxRecordBytes(String topic);

    /** Kafka's broker default ({@code message.max.bytes}), for topics whose setting is not known. */
    int BROKER_DEFAULT = 1_048_588;

    static TopicLimits fixed(int bytes) {
        return topic -> bytes;
    }
}
