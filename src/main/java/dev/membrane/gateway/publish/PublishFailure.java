package dev.membrane.gateway.publish;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * The three kinds of publishing failure, as Kafka's {@code ExactlyOnceMessageProcessor} tells them apart: fatal
 * ones end the producer (another instance took over, or the principal may not write), a record-level refusal is
 * about one record and must not hold back the others, and everything else aborts the transaction and is retried.
 */
public enum PublishFailure {
    /** Stop the instance and fail liveness: retrying cannot succeed. */
    FATAL,
    /**
     * The producer's epoch is gone: another instance with this transactional id started, or the coordinator
     * aborted a transaction that outlived {@code transaction.timeout.ms} (a broker outage longer than it does
     * that). The consumer tells them apart: with static membership a second live instance of this id fences the
     * consumer too ({@code FencedInstanceIdException}, fatal). So a fenced producer is replaced by a new one once;
     * fenced again before anything is published, it is fatal.
     *
     * <p>{@code InvalidTxnStateException} counts here too: when the coordinator aborts a transaction that timed out
     * during an outage, the producer's next transactional call after the broker is back can be answered with
     * INVALID_TXN_STATE instead of a fencing error, and the client then holds it as a fatal error: every later call
     * fails with "Cannot execute transactional method because we are in an error state" (caused by it), so only a
     * new producer can go on.
     */
    PRODUCER_FENCED,
    /** The broker or producer refuses this one record; its outcome is converted and the rest retried at once. */
    RECORD_REFUSED,
    /** Abort, back off, retry. */
    RETRIABLE;

    public static PublishFailure of(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException || t instanceof InvalidTxnStateException) {
                return PRODUCER_FENCED;
            }
            if (t instanceof FencedInstanceIdException || t instanceof OutOfOrderSequenceException || t instanceof AuthorizationException
                    || t instanceof AuthenticationException || t instanceof UnsupportedVersionException) {
                return FATAL;
            }
            if (t instanceof RecordTooLargeException || t instanceof RecordBatchTooLargeException || t instanceof InvalidRecordException) {
                return RECORD_REFUSED;
            }
        }
        return RETRIABLE;
    }
}
