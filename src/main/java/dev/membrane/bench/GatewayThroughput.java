package dev.membrane.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Consumer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.gateway.GatewayMetrics;
import dev.membrane.gateway.GatewaySettings;
import dev.membrane.gateway.KafkaGateway;
import dev.membrane.gateway.ServedModel;
import dev.membrane.gateway.kafka.EmbeddedKafka;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.policy.PolicyDecision;
import dev.membrane.policy.PolicyStore;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.catalog.AdapterCatalog;

/**
 * Requests per second through the gateway (embedded broker, transactions, results consumed) against the bare
 * pipeline looping over the same requests one by one, and the latency the gateway adds to a lone request
 * (closed loop: send, wait for its result, send the next; minus the bare time of the same request).
 */
final class GatewayThroughput {
    /**
     * @param bareRps        bare loop throughput
     * @param gatewayRps     gateway throughput on a burst of the same requests
     * @param addedLatencyMs per lone request, gateway end-to-end minus bare
     * @param batchWaitMs    the gateway's batch window during the measurement
     */
    record Result(double bareRps, double gatewayRps, List<Double> addedLatencyMs, long batchWaitMs) {
    }

    private GatewayThroughput() {
    }

    static Result measure(ServedModel model, Path work, int requests, int loneRequests, int imageSize, int steps,
                          long batchWaitMs, Consumer<String> progress) throws Exception {
        // a catalog of random adapters for this model, two policies that alternate between requests
        Path adapters = work.resolve("adapters");
        Files.createDirectories(adapters);
        StringBuilder catalog = new StringBuilder("{\"adapters\": [");
        for (int i = 0; i < 4; i++) {
            byte[] bytes = UNetBench.randomAdapterBytes(model.pipeline().layout().adapterSites(), 100 + i);
            SpmFile spm = SpmFile.parse("c" + i, bytes);
            Files.write(adapters.resolve("c" + i + ".safetensors"), bytes);
            catalog.append(i == 0 ? "" : ",").append("{\"id\":\"c").append(i).append("\",\"category\":\"copyright\",\"prompts\":[\"")
                    .append(spm.prompts().get(0)).append("\"],\"file\":\"c").append(i).append(".safetensors\",\"sha256\":\"")
                    .append(OutputRecords.sha256(bytes)).append("\"}");
        }
        Files.writeString(adapters.resolve("catalog.json"), catalog.append("]}").toString());
        Path policyFile = work.resolve("policy.yaml");
        Files.writeString(policyFile, """
                version: "bench"
                defaultPolicy: two
                policies:
                  two: {concepts: [{id: c0}, {id: c1}]}
                  four: {concepts: [{id: c0}, {id: c1}, {id: c2}, {id: c3, transport: {kind: fixed, gamma: 1.0}}]}
                tenants:
                  b: {policy: four}
                """);
        PolicyStore policies = PolicyStore.open(policyFile, AdapterCatalog.load(adapters.resolve("catalog.json")));

        List<String> ids = new ArrayList<>();
        Map<String, String> prompts = new HashMap<>();
        for (int i = 0; i < requests + loneRequests; i++) {
            ids.add("bench-" + i);
            prompts.put("bench-" + i, "a photo of a cat number " + i);
        }
        // bare: the same requests, one by one
        Map<String, Double> bareMs = new HashMap<>();
        for (int i = 0; i < ids.size(); i++) {
            String id = ids.get(i);
            PolicyDecision d = policies.decide(i % 2 == 0 ? "a" : "b", "");
            List<AdapterPipeline.AdapterRequest> stack = d.adapters().stream().map(a -> new AdapterPipeline.AdapterRequest(a.file(), a.transport())).toList();
            long t0 = System.nanoTime();
            model.pipeline().generate(new GenerationRequest(List.of(new ImageSpec(prompts.get(id), "", i)), imageSize, imageSize, steps,
                    7.5, SchedulerKind.DDIM), List.of(new AdapterPipeline.ImageStack(stack, d.policy().stacking())));
            bareMs.put(id, (System.nanoTime() - t0) / 1e6);
            progress.accept("gateway vs bare: bare request " + (i + 1) + "/" + ids.size());
        }
        double bareTotalMs = ids.subList(0, requests).stream().mapToDouble(bareMs::get).sum();

        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"), 0)) {
            OutputRecords.Topics topics = new OutputRecords.Topics("bench.requests", "bench.results", "bench.audit", "bench.dlq");
            kafka.createTopics(Map.of(topics.requests(), 1, topics.results(), 1, topics.audit(), 1, topics.deadLetters(), 1));
            RequestLimits limits = new RequestLimits(2000, 1024, 1024 * 1024, 100, 4, imageSize, steps, 7.5, 30, "ddim",
                    model.id(), Set.of(model.id()));
            kafka.createCompactedTopic(topics.attempts(), 1);
            GatewaySettings settings = GatewaySettings.builder(kafka.bootstrapServers(), topics, limits).groupId("bench").instanceId("bench")
                    .maxBatchWaitMs(batchWaitMs).build();
            KafkaGateway gateway = new KafkaGateway(settings, Map.of(model.id(), model), policies, new GatewayMetrics(new SimpleMeterRegistry()));
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-reader");
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            gateway.start();
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer());
                 KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of(topics.results()));
                // warm the path (group join, transactions) with one request outside the measurement
                producer.send(new ProducerRecord<>(topics.requests(), "warm", json("warm", "a photo", 0, "a", imageSize, steps))).get();
                await(consumer, Set.of("warm"), 300_000);

                long t0 = System.nanoTime();
                for (int i = 0; i < requests; i++) {
                    String id = ids.get(i);
                    producer.send(new ProducerRecord<>(topics.requests(), id, json(id, prompts.get(id), i, i % 2 == 0 ? "a" : "b", imageSize, steps)));
                }
                producer.flush();
                await(consumer, Set.copyOf(ids.subList(0, requests)), 600_000);
                double gatewayMs = (System.nanoTime() - t0) / 1e6;
                progress.accept("gateway vs bare: burst of " + requests + " done");

                List<Double> added = new ArrayList<>();
                for (int i = requests; i < ids.size(); i++) {
                    String id = ids.get(i);
                    long s = System.nanoTime();
                    producer.send(new ProducerRecord<>(topics.requests(), id, json(id, prompts.get(id), i, i % 2 == 0 ? "a" : "b", imageSize, steps))).get();
                    await(consumer, Set.of(id), 300_000);
                    added.add((System.nanoTime() - s) / 1e6 - bareMs.get(id));
                    progress.accept("gateway vs bare: lone request " + (i - requests + 1) + "/" + loneRequests);
                }
                return new Result(requests / (bareTotalMs / 1e3), requests / (gatewayMs / 1e3), added, batchWaitMs);
            } finally {
                gateway.close();
            }
        }
    }

    private static String json(String id, String prompt, long seed, String tenant, int size, int steps) {
        return "{\"requestId\":\"" + id + "\",\"tenant\":\"" + tenant + "\",\"prompt\":\"" + prompt + "\",\"seed\":" + seed
                + ",\"width\":" + size + ",\"height\":" + size + ",\"steps\":" + steps + ",\"scheduler\":\"ddim\"}";
    }

    private static void await(KafkaConsumer<String, String> consumer, Set<String> keys, long timeoutMs) {
        Set<String> missing = new java.util.HashSet<>(keys);
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!missing.isEmpty()) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("results missing for " + missing);
            consumer.poll(Duration.ofMillis(100)).forEach(r -> missing.remove(r.key()));
        }
    }
}
