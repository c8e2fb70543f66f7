package dev.membrane.gateway.publish;

import java.util.List;

import org.apache.kafka.common.TopicPartition;

import dev.membrane.gateway.outcome.Outcome;

/** A partition's finished prefix: its outcomes in offset order and the offset to commit after them. */
public record PartitionBatch(TopicPartition partition, List<Outcome> outcomes, long nextOffset) {
}
