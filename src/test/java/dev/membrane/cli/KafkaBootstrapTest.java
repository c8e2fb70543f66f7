package dev.membrane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.membrane.MembraneException;

class KafkaBootstrapTest {
    @Test
    void quarkusKeyOrItsAliasAndNeitherMeansEmbedded() {
        assertEquals(Optional.of("k:9092"), KafkaBootstrap.resolve(Optional.of("k:9092"), Optional.empty()));
        assertEquals(Optional.of("k:9092"), KafkaBootstrap.resolve(Optional.empty(), Optional.of("k:9092")));
        assertEquals(Optional.of("k:9092"), KafkaBootstrap.resolve(Optional.of("k:9092"), Optional.of(" k:9092 ")), "the same value twice is fine");
        assertEquals(Optional.empty(), KafkaBootstrap.resolve(Optional.of(" "), Optional.empty()));
        var e = assertThrows(MembraneException.class, () -> KafkaBootstrap.resolve(Optional.of("a:9092"), Optional.of("b:9092")));
        assertEquals(true, e.getMessage().contains("disagree"));
    }
}
