package dev.membrane.gateway.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;

class PublishFailureTest {

    @Test
    void aProducerThatLostItsTransactionIsReplacedNotRetried() {
        // what kafka-clients 4.4 threw after an embedded broker was down past the transaction timeout (a CI run):
        // the first call answered INVALID_TXN_STATE, every later one wrapped it as the producer's fatal error
        InvalidTxnStateException lost = new InvalidTxnStateException("The producer attempted a transactional operation in an invalid state.");
        assertEquals(PublishFailure.PRODUCER_FENCED, PublishFailure.of(lost));
        assertEquals(PublishFailure.PRODUCER_FENCED,
                PublishFailure.of(new KafkaException("Cannot execute transactional method because we are in an error state", lost)));
        assertEquals(PublishFailure.PRODUCER_FENCED, PublishFailure.of(new ProducerFencedException("epoch")));
    }

    @Test
    void theOtherKindsKeepTheirMeaning() {
        assertEquals(PublishFailure.FATAL, PublishFailure.of(new KafkaException("x", new FencedInstanceIdException("another instance"))));
        assertEquals(PublishFailure.RECORD_REFUSED, PublishFailure.of(new KafkaException("x", new RecordTooLargeException("big"))));
        assertEquals(PublishFailure.RETRIABLE, PublishFailure.of(new TimeoutException("broker away")));
        assertEquals(PublishFailure.RETRIABLE, PublishFailure.of(new KafkaException("a record of the transaction was not accepted")));
    }
}
