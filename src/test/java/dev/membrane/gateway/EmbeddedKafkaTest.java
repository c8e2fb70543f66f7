package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.gateway.kafka.EmbeddedKafka;

class EmbeddedKafkaTest {
    @Test
    void producesAndConsumesOnLoopbackAndKeepsDataAcrossRestart(@TempDir Path dir) throws Exception {
        int port;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, 0)) {
            port = kafka.port();
            kafka.createTopics(Map.of("t", 2));
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
                producer.send(new ProducerRecord<>("t", "k", "v1")).get();
            }
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, port)) {
            Properties c = new Properties();
            c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            c.put(ConsumerConfig.GROUP_ID_CONFIG, "g");
            c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of("t"));
                String value = null;
                long deadline = System.currentTimeMillis() + 20_000;
                while (value == null && System.currentTimeMillis() < deadline) {
                    ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                    for (var r : records) value = r.value();
                }
                assertEquals("v1", value);
            }
        }
    }
}
