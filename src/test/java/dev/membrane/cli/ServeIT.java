package dev.membrane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main job as README runs it: {@code java -jar target/quarkus-app/quarkus-run.jar} with no command, on its
 * embedded broker and loopback HTTP, fed over Kafka, then stopped with SIGTERM.
 */
class ServeIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** {@code java -jar target/quarkus-app/quarkus-run.jar} with loopback ports and {@code extra} -D settings. */
    private static Process serve(Path dir, int kafkaPort, int httpPort, String... extra) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Dmembrane.data-dir=" + dir.resolve("data"),
                "-Dmembrane.kafka.embedded.port=" + kafkaPort, "-Dquarkus.http.port=" + httpPort,
                "-Dmembrane.gateway.instance-id=serve-it", "-Dmembrane.device=cpu"));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of("-jar", "target/quarkus-app/quarkus-run.jar"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("serve.log").toFile());
        return pb.start();
    }

    private static JsonNode awaitReady(HttpClient http, int httpPort, Process p, Path dir) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline && p.isAlive()) {
            try {
                var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return JSON.readTree(r.body());
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(500);
        }
        throw new AssertionError("never ready: " + Files.readString(dir.resolve("serve.log")));
    }

    private static final String ADMIN_TOKEN = "t0ken-for-serve-it";

    private static HttpResponse<String> api(HttpClient http, int port, String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (token != null) b.header("Authorization", "Bearer " + token);
        // HTTP/1.1: an over-limit body is answered 413 and the connection closed, which an h2c upgrade reports as GOAWAY
        return HTTP1.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static final HttpClient HTTP1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** The admin API on the embedded default: 401 without the token or with a wrong one, answers with it. */
    private static void adminApiAnswersOnlyTheToken(HttpClient http, int port, Path dir) throws Exception {
        assertEquals(401, api(http, port, "GET", "/api/policies", null, null).statusCode());
        assertEquals(401, api(http, port, "GET", "/api/policies", "guess-7f3a9", null).statusCode());
        JsonNode policies = JSON.readTree(api(http, port, "GET", "/api/policies", ADMIN_TOKEN, null).body());
        assertEquals("demo-shapes-2", policies.get("version").asText(), policies.toString());
        assertEquals("serve-it", policies.get("instance").asText(), "each instance answers for itself");
        assertTrue(policies.get("policies").findValuesAsText("id").contains("no-circles"));
        JsonNode models = JSON.readTree(api(http, port, "GET", "/api/models", ADMIN_TOKEN, null).body());
        assertEquals("shapes", models.get(0).get("id").asText());
        assertEquals("shapes-concepts", models.get(0).get("classifier").get("id").asText());
        JsonNode adapters = JSON.readTree(api(http, port, "GET", "/api/adapters", ADMIN_TOKEN, null).body());
        for (JsonNode a : adapters) if (a.get("id").asText().startsWith("shapes-")) assertTrue(a.get("verified").asBoolean(), a.toString());
        var preview = api(http, port, "POST", "/api/preview", ADMIN_TOKEN, "{\"tenant\":\"demo\",\"app\":\"kids-app\",\"prompt\":\"a red circle\"}");
        assertEquals(200, preview.statusCode(), preview.body());
        JsonNode pv = JSON.readTree(preview.body());
        assertEquals("no-circles", pv.get("policy").asText());
        assertEquals("shapes-circle", pv.get("adapters").get(0).get("concept").asText());
        assertEquals(1.0, pv.get("adapters").get(0).get("st").asDouble(), 1e-9, "the prompt names the concept");
        assertEquals(1.5, pv.get("adapters").get(0).get("gamma").asDouble(), 1e-9, "the catalog's factor 1.5 x max(sf, st)");
        assertEquals("shapes-concepts", pv.get("outputCheck").get("classifier").asText());
        assertEquals("block", pv.get("outputCheck").get("rules").get(0).get("action").asText(), "actions as policies spell them");
        assertEquals(400, api(http, port, "POST", "/api/preview", ADMIN_TOKEN, "{\"tenant\":\"demo\"}").statusCode());
        assertEquals(401, api(http, port, "POST", "/api/compare", null, "{\"prompt\":\"a red circle\"}").statusCode());
        var outOfBounds = api(http, port, "POST", "/api/compare", ADMIN_TOKEN, "{\"tenant\":\"demo\",\"prompt\":\"a red circle\",\"steps\":1000}");
        assertEquals(400, outOfBounds.statusCode(), "the Kafka request bounds: " + outOfBounds.body());
        assertTrue(outOfBounds.body().contains("OUT_OF_BOUNDS"), outOfBounds.body());
        assertEquals(413, api(http, port, "POST", "/api/preview", ADMIN_TOKEN, "{\"prompt\":\"" + "x".repeat(70_000) + "\"}").statusCode());
        var openapi = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/openapi")).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(openapi.body().contains("/api/preview"), openapi.body());
        String log = Files.readString(dir.resolve("serve.log"));
        assertTrue(log.contains("admin API: a wrong bearer token for GET /api/policies"), "a refused call is logged");
        assertTrue(!log.contains("guess-7f3a9") && !log.contains(ADMIN_TOKEN), "without the token");
    }

    /** Produces a policy document to membrane.policies; returns when it was acknowledged. */
    private static long producePolicy(int kafkaPort, String key, String yaml) throws Exception {
        Properties pp = new Properties();
        pp.put("bootstrap.servers", "127.0.0.1:" + kafkaPort);
        pp.put("acks", "all");
        try (var producer = new KafkaProducer<String, String>(pp, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>("membrane.policies", key, yaml)).get();
        }
        return System.currentTimeMillis();
    }

    private static JsonNode readyData(HttpClient http, int port) throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
        return gatewayCheck(JSON.readTree(r.body())).get("data");
    }

    /** The membrane-gateway check of a health answer. */
    private static JsonNode gatewayCheck(JsonNode health) {
        for (JsonNode c : health.get("checks")) if (c.get("name").asText().equals("membrane-gateway")) return c;
        throw new AssertionError(health.toString());
    }

    /** Readiness's data once it shows policy {@code version}, or at {@code deadline} whatever it shows. */
    private static JsonNode awaitPolicy(HttpClient http, int port, String version, long deadline) throws Exception {
        JsonNode data = readyData(http, port);
        while (!data.get("policyVersion").asText().equals(version) && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
            data = readyData(http, port);
        }
        return data;
    }

    /** SIGTERM, and serve must exit within a minute. */
    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        boolean exited = p.waitFor(60, TimeUnit.SECONDS);
        if (!exited) p.destroyForcibly();
        assertTrue(exited, "serve must stop on SIGTERM");
    }

    /** Produces each (key, value) to membrane.requests, acknowledged by all replicas. */
    private static void produce(int kafkaPort, java.util.Map<String, String> records) throws Exception {
        Properties pp = new Properties();
        pp.put("bootstrap.servers", "127.0.0.1:" + kafkaPort);
        pp.put("acks", "all");
        try (var producer = new KafkaProducer<String, String>(pp, new StringSerializer(), new StringSerializer())) {
            for (var e : records.entrySet()) producer.send(new ProducerRecord<>("membrane.requests", e.getKey(), e.getValue())).get();
        }
    }

    /** One request per app of tenant demo, requestId and key the app's name, the rest of its fields {@code fields}. */
    private static void produceForApps(int kafkaPort, List<String> apps, String fields) throws Exception {
        java.util.Map<String, String> requests = new java.util.LinkedHashMap<>();
        for (String app : apps) {
            requests.put(app, "{\"requestId\":\"" + app + "\",\"tenant\":\"demo\",\"app\":\"" + app + "\"," + fields + "}");
        }
        produce(kafkaPort, requests);
    }

    /** Every record of {@code topic} until {@code count} have arrived (or 60 s), by key. */
    private static java.util.Map<String, JsonNode> read(int kafkaPort, String topic, String group, int count) throws IOException {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + kafkaPort);
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        java.util.Map<String, JsonNode> out = new java.util.LinkedHashMap<>();
        try (var consumer = new KafkaConsumer<String, String>(cp, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long until = System.currentTimeMillis() + 60_000;
            while (out.size() < count && System.currentTimeMillis() < until) {
                for (var r : consumer.poll(Duration.ofMillis(200))) out.put(r.key(), JSON.readTree(r.value()));
            }
        }
        return out;
    }

    @Test
    void embeddedDefaultServesTheShapesModelWithErasurePerApp(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("models/shapes/model_index.json")), "the committed shapes model");
        int kafkaPort = freePort();
        int httpPort = freePort();
        Process p = serve(dir, kafkaPort, httpPort, "-Dmembrane.admin.token=" + ADMIN_TOKEN);
        HttpClient http = HttpClient.newHttpClient();
        try {
            JsonNode ready = awaitReady(http, httpPort, p, dir);
            assertEquals("demo-shapes-2", gatewayCheck(ready).get("data").get("policyVersion").asText());
            adminApiAnswersOnlyTheToken(http, httpPort, dir);
            produceForApps(kafkaPort, List.of("kids-app", "brand-app", "other-app"), "\"prompt\":\"a red circle\",\"seed\":3,\"steps\":10");
            var results = read(kafkaPort, "membrane.results", "serve-it-shapes", 3);
            var audits = read(kafkaPort, "membrane.audit", "serve-it-shapes-audit", 3);
            assertEquals(3, results.size(), results.toString());
            for (JsonNode r : results.values()) assertEquals("COMPLETED", r.get("status").asText(), r.toString());
            assertEquals("no-circles", results.get("kids-app").get("policy").get("id").asText());
            assertEquals("no-stripes", results.get("brand-app").get("policy").get("id").asText());
            assertEquals("open", results.get("other-app").get("policy").get("id").asText());
            JsonNode kids = audits.get("kids-app").get("adapters");
            assertEquals(1, kids.size());
            assertEquals("shapes-circle", kids.get(0).get("concept").asText());
            assertEquals(0, audits.get("other-app").get("adapters").size());
            String moderated = results.get("kids-app").get("images").get(0).get("data").asText();
            String base = results.get("other-app").get("images").get(0).get("data").asText();
            assertTrue(!moderated.equals(base), "the circle adapter changes the kids-app image");
            // behind the adapter, the embedded default's concept classifier checked the image, and it is no circle
            JsonNode check = results.get("kids-app").get("outputCheck");
            assertEquals("shapes-concepts", check.get("classifier").asText(), results.get("kids-app").toString());
            assertEquals("allow", check.get("action").asText());
            assertTrue(check.get("images").get(0).get("scores").get("circle").asDouble() < 0.5);
            assertTrue(!results.get("other-app").has("outputCheck"), "the open policy checks nothing");
        } finally {
            stop(p);
        }
    }

    /**
     * The output and prompt checks on the embedded default: a policy whose rule on an always-firing label blocks
     * gets BLOCKED results without image bytes, a flag rule publishes with the verdict, a blocked term is REJECTED
     * PROMPT_BLOCKED before any generation, and the policy without checks keeps serving.
     */
    @Test
    void outputAndPromptChecksOnTheEmbeddedDefault(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("models/shapes/model_index.json")), "the committed shapes model");
        Path classifier = dev.membrane.testing.TestClassifiers.alwaysFiring(dir.resolve("classifier"));
        Path policy = dir.resolve("policy.yaml");
        Files.writeString(policy, """
                version: "checks-1"
                defaultPolicy: open
                policies:
                  open: {concepts: []}
                  blocking:
                    concepts: []
                    outputCheck:
                      classifier: test-always
                      rules: {always: {threshold: 0.5, action: block}, never: {threshold: 0.5, action: block}}
                  flagging:
                    concepts: []
                    outputCheck: {classifier: test-always, rules: {always: {threshold: 0.9, action: flag}}}
                  worded:
                    concepts: []
                    promptCheck: {terms: [circle], patterns: ["sq[u]+are"]}
                tenants:
                  demo:
                    apps: {blocked-app: blocking, flagged-app: flagging, worded-app: worded}
                """);
        int kafkaPort = freePort();
        int httpPort = freePort();
        Process p = serve(dir, kafkaPort, httpPort, "-Dmembrane.models.shapes.classifier=" + classifier, "-Dmembrane.policy.file=" + policy);
        HttpClient http = HttpClient.newHttpClient();
        try {
            awaitReady(http, httpPort, p, dir);
            produceForApps(kafkaPort, List.of("blocked-app", "flagged-app", "worded-app", "other-app"),
                    "\"prompt\":\"a red &#67;IRCLE\",\"seed\":3,\"steps\":4,\"numImages\":2");
            var results = read(kafkaPort, "membrane.results", "serve-it-checks", 4);
            var audits = read(kafkaPort, "membrane.audit", "serve-it-checks-audit", 4);
            assertEquals(4, results.size(), results.toString());
            results.values().forEach(r -> dev.membrane.gateway.MessageSchemas.assertValid("result.schema.json", r));
            audits.values().forEach(a -> dev.membrane.gateway.MessageSchemas.assertValid("audit.schema.json", a));

            JsonNode blocked = results.get("blocked-app");
            assertEquals("BLOCKED", blocked.get("status").asText(), blocked.toString());
            assertEquals(0, blocked.get("images").size());
            assertEquals("OUTPUT_BLOCKED", blocked.get("error").get("code").asText());
            assertTrue(blocked.get("error").get("message").asText().contains("always 1.0000 >= 0.5 (block)"), blocked.toString());
            assertEquals(2, blocked.get("outputCheck").get("images").size());
            assertEquals(1.0, blocked.get("outputCheck").get("images").get(1).get("scores").get("always").asDouble(), 1e-6);
            JsonNode blockedAudit = audits.get("blocked-app");
            assertEquals("BLOCKED", blockedAudit.get("status").asText());
            assertEquals("block", blockedAudit.get("outputCheck").get("action").asText());
            assertEquals(dev.membrane.Hashes.sha256(classifier.resolve("model.onnx")), blockedAudit.get("outputCheck").get("classifierSha256").asText());
            assertEquals(0, blockedAudit.get("imageSha256").size(), "a blocked request publishes no image, and audits none as published");

            JsonNode flagged = results.get("flagged-app");
            assertEquals("COMPLETED", flagged.get("status").asText(), flagged.toString());
            assertEquals(2, flagged.get("images").size());
            assertEquals("flag", flagged.get("outputCheck").get("action").asText());
            assertEquals("always", flagged.get("outputCheck").get("images").get(0).get("fired").get(0).get("label").asText());

            JsonNode worded = results.get("worded-app");
            assertEquals("REJECTED", worded.get("status").asText(), worded.toString());
            assertEquals("PROMPT_BLOCKED", worded.get("error").get("code").asText());
            assertTrue(worded.get("error").get("message").asText().contains("term 'circle'"), worded.toString());
            assertTrue(!audits.get("worded-app").has("prompt"), "the audit keeps no prompt text without storePrompts");

            JsonNode open = results.get("other-app");
            assertEquals("COMPLETED", open.get("status").asText(), open.toString());
            assertTrue(!open.has("outputCheck"), "a policy without an output check reports none");

            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("membrane_output_check_total{") && l.contains("action=\"block\"")
                    && l.contains("label=\"always\"") && l.endsWith(" 2.0")), metrics.lines().filter(l -> l.contains("output_check")).toList().toString());
            // the Kafka clients' own metrics, per role
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("kafka_consumer_") && l.contains("membrane_client=\"requests-consumer\"")),
                    metrics.lines().filter(l -> l.startsWith("kafka_")).limit(5).toList().toString());
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("kafka_producer_") && l.contains("membrane_client=\"transactional-producer\"")));
            // every client carries its role, the policy channel's too (Prometheus would drop a second tag set)
            assertEquals(List.of(), metrics.lines().filter(l -> l.startsWith("kafka_") && !l.contains("membrane_client=")).limit(3).toList());
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("kafka_consumer_") && l.contains("membrane_client=\"membrane-policies-consumer\"")),
                    metrics.lines().filter(l -> l.startsWith("kafka_consumer_io_time")).toList().toString());
        } finally {
            stop(p);
        }
    }

    @Test
    void embeddedDefaultServesARequestAndStopsCleanly(@TempDir Path dir) throws Exception {
        int kafkaPort = freePort();
        int httpPort = freePort();
        // without the committed shapes model the embedded default builds the tiny reference model
        Process p = serve(dir, kafkaPort, httpPort, "-Dmembrane.embedded-model=" + dir.resolve("no-shapes-model"));
        HttpClient http = HttpClient.newHttpClient();
        try {
            JsonNode ready = null;
            long deadline = System.currentTimeMillis() + 120_000;
            while (System.currentTimeMillis() < deadline && p.isAlive()) {
                try {
                    var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        ready = JSON.readTree(r.body());
                        break;
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                Thread.sleep(500);
            }
            assertTrue(ready != null, "never ready: " + Files.readString(dir.resolve("serve.log")));
            assertEquals("demo-1", gatewayCheck(ready).get("data").get("policyVersion").asText());
            assertEquals(404, api(http, httpPort, "GET", "/api/policies", "anything", null).statusCode(), "no token configured: no admin API");
            assertEquals(404, api(http, httpPort, "GET", "/playground", null, null).statusCode(), "no token configured: no playground");
            assertEquals(404, api(http, httpPort, "POST", "/api/compare", "anything", "{\"prompt\":\"a cat\"}").statusCode());

            produce(kafkaPort, java.util.Map.of("it-1", "{\"requestId\":\"it-1\",\"tenant\":\"t\",\"prompt\":\"a photo of a cat\",\"seed\":3,\"steps\":5}"));
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + kafkaPort);
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, "serve-it-reader");
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            List<JsonNode> results = new ArrayList<>();
            try (var consumer = new KafkaConsumer<String, String>(cp, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of("membrane.results"));
                long until = System.currentTimeMillis() + 60_000;
                while (results.isEmpty() && System.currentTimeMillis() < until) {
                    for (var r : consumer.poll(Duration.ofMillis(200))) results.add(JSON.readTree(r.value()));
                }
            }
            assertEquals(1, results.size());
            assertEquals("COMPLETED", results.get(0).get("status").asText());
            assertEquals(64, results.get(0).get("images").get(0).get("width").asInt(), "the tiny reference model's own size");

            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("membrane_requests_total{status=\"COMPLETED\"} 1.0"), metrics.lines().filter(l -> l.startsWith("membrane")).toList().toString());
            assertTrue(metrics.contains("membrane_adapter_gamma_count{concept=\"snoopy\"}"));
            assertTrue(Files.exists(dir.resolve("data/models/tiny/unet/model.spm.onnx")), "the model is built and prepared outside the repository");

            // hot reload: a new policy version with no default policy refuses unknown tenants from then on
            Path policy = dir.resolve("data/policy.yaml");
            Files.writeString(policy, Files.readString(policy).replace("version: \"demo-1\"", "version: \"demo-2\"")
                    .replace("defaultPolicy: demo\n", ""));
            Files.setLastModifiedTime(policy, FileTime.fromMillis(System.currentTimeMillis() + 5_000));
            long reloadDeadline = System.currentTimeMillis() + 30_000;
            String version = "";
            while (!version.equals("demo-2") && System.currentTimeMillis() < reloadDeadline) {
                Thread.sleep(500);
                var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString());
                version = gatewayCheck(JSON.readTree(r.body())).get("data").get("policyVersion").asText();
            }
            assertEquals("demo-2", version, "the edited policy file is reloaded");
            produce(kafkaPort, java.util.Map.of("it-2", "{\"requestId\":\"it-2\",\"tenant\":\"t\",\"prompt\":\"a photo of a cat\",\"seed\":3,\"steps\":5}"));
            JsonNode refused = null;
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, "serve-it-reader-2");
            try (var consumer = new KafkaConsumer<String, String>(cp, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of("membrane.results"));
                long until = System.currentTimeMillis() + 60_000;
                while (refused == null && System.currentTimeMillis() < until) {
                    for (var r : consumer.poll(Duration.ofMillis(200))) if (r.key().equals("it-2")) refused = JSON.readTree(r.value());
                }
            }
            assertNotNull(refused);
            assertEquals("REJECTED", refused.get("status").asText());
            assertEquals("NO_POLICY", refused.get("error").get("code").asText());

            // policies over Kafka: a document produced to membrane.policies is in force within 5 s and wins over the file
            String topicDoc = "defaultPolicy: demo\n" + Files.readString(policy).replace("version: \"demo-2\"", "version: \"topic-3\"");
            long produced = producePolicy(kafkaPort, "platform", topicDoc);
            JsonNode data = awaitPolicy(http, httpPort, "topic-3", produced + 5_000);
            assertEquals("topic-3", data.get("policyVersion").asText(), "in force within 5 s of the produce: " + data);
            assertEquals("membrane.policies[platform]@0:0", data.get("policySource").asText());
            assertEquals("serve-it", data.get("instance").asText());
            // a broken document is ignored, counted, and its reason shown; the last good one stays
            producePolicy(kafkaPort, "platform", "version: \"topic-4\"\npolicies:\n  p: {concepts: [{id: no-such-adapter}]}\n");
            long brokenDeadline = System.currentTimeMillis() + 10_000;
            while (!data.has("policyReloadError") && System.currentTimeMillis() < brokenDeadline) {
                Thread.sleep(200);
                data = readyData(http, httpPort);
            }
            assertEquals("topic-3", data.get("policyVersion").asText());
            assertTrue(data.get("policyReloadError").asText().contains("no-such-adapter"), data.toString());
            String policyMetrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(policyMetrics.contains("membrane_policy_documents_total{result=\"applied\"} 1.0"), policyMetrics);
            assertTrue(policyMetrics.contains("membrane_policy_documents_total{result=\"invalid\"} 1.0"), policyMetrics);
            // the file is no longer read once the topic is in force
            Files.writeString(policy, Files.readString(policy).replace("version: \"demo-2\"", "version: \"demo-5\""));
            Files.setLastModifiedTime(policy, FileTime.fromMillis(System.currentTimeMillis() + 10_000));
            Thread.sleep(3_000);
            assertEquals("topic-3", readyData(http, httpPort).get("policyVersion").asText(), "the topic wins over the file");
            // and the document works: tenant t has a policy again
            produce(kafkaPort, java.util.Map.of("it-3", "{\"requestId\":\"it-3\",\"tenant\":\"t\",\"prompt\":\"a photo of a cat\",\"seed\":3,\"steps\":2}"));
            var third = read(kafkaPort, "membrane.results", "serve-it-reader-3", 3);
            assertEquals("COMPLETED", third.get("it-3").get("status").asText(), third.toString());
        } finally {
            stop(p);
        }
        String log = Files.readString(dir.resolve("serve.log"));
        assertTrue(log.contains("membrane: serving; kafka 127.0.0.1:" + kafkaPort + " (embedded), http 127.0.0.1:" + httpPort), log);
        assertTrue(log.contains("draining"), "graceful stop drains in-flight work");
        assertTrue(!log.contains("kafka-consumer-membrane-policies") || !log.contains("could not be established"),
                "the policy consumer leaves before the embedded broker closes");
        assertTrue(log.lines().anyMatch(l -> l.contains(" it-1 ") && l.contains("COMPLETED")), "outcomes are logged with their requestId");
    }
}
