#!/usr/bin/env bash
# Creates Membrane's topics on a cluster without Strimzi, with the settings of strimzi/topics.yaml.
#   BOOTSTRAP=kafka-1:9092 [COMMAND_CONFIG=admin.properties] [REPLICATION=3] kafka/create-topics.sh
# Needs kafka-topics.sh (Apache Kafka's bin/) on the PATH.
set -euo pipefail
: "${BOOTSTRAP:?set BOOTSTRAP to the cluster's bootstrap servers}"
REPLICATION=${REPLICATION:-3}
MIN_ISR=${MIN_ISR:-2}
extra=()
[ -n "${COMMAND_CONFIG:-}" ] && extra=(--command-config "$COMMAND_CONFIG")

create() { # name partitions retention.ms max.message.bytes
  kafka-topics.sh --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --create --if-not-exists --topic "$1" \
    --partitions "$2" --replication-factor "$REPLICATION" \
    --config min.insync.replicas="$MIN_ISR" --config retention.ms="$3" --config max.message.bytes="$4" \
    --config cleanup.policy=delete
}
create membrane.requests      12 86400000    1048576
create membrane.results       12 259200000   16777216
create membrane.audit         12 31536000000 1048576
create membrane.requests.dlq   3 2592000000  1048576
# the crash-loop breaker's marks: compacted, one partition per requests partition
kafka-topics.sh --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --create --if-not-exists --topic membrane.gateway.attempts \
  --partitions 12 --replication-factor "$REPLICATION" --config min.insync.replicas="$MIN_ISR" --config cleanup.policy=compact
# policy documents: compacted, one partition (every instance reads it whole; the newest is the last in the log)
kafka-topics.sh --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --create --if-not-exists --topic membrane.policies \
  --partitions 1 --replication-factor "$REPLICATION" --config min.insync.replicas="$MIN_ISR" --config cleanup.policy=compact \
  --config max.message.bytes=262144
