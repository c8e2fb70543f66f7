package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.spm.catalog.AdapterCatalog;

/** The gateway end to end on a real (in-process, loopback) Kafka broker. */
class GatewayIT {
    private static final AdapterCatalog CATALOG = AdapterCatalog.load(Path.of("adapters/catalog.json"));

    @Test
    void requestEndToEndGivesResultAndAuditWithGamma(@TempDir Path dir) throws Exception {
        try (GatewayHarness h = new GatewayHarness(dir, "e2e")) {
            KafkaGateway g = h.start("e2e-1", 50, CATALOG);
            try {
                h.send("r1", GatewayHarness.request("r1", "someone", "graffiti of the snoopy", 42));
                Map<String, List<JsonNode>> results = h.readJson(h.topics.results(), 1, 60_000);
                Map<String, List<JsonNode>> audit = h.readJson(h.topics.audit(), 1, 30_000);
                JsonNode r = results.get("r1").get(0);
                assertEquals("COMPLETED", r.get("status").asText(), r.toString());
                MessageSchemas.assertValid("result.schema.json", r);
                MessageSchemas.assertValid("audit.schema.json", audit.get("r1").get(0));
                MessageSchemas.assertValid("request.schema.json", GatewayHarness.JSON.readTree(GatewayHarness.request("r1", "someone", "graffiti of the snoopy", 42)));
                assertEquals(1, r.get("images").size());
                JsonNode img = r.get("images").get(0);
                byte[] png = Base64.getDecoder().decode(img.get("data").asText());
                assertEquals(OutputRecords.sha256(png), img.get("sha256").asText());
                assertEquals("image/png", img.get("mediaType").asText());
                assertEquals(42, img.get("seed").asLong());
                assertEquals("standard", r.get("policy").get("id").asText());
                assertEquals("test-1", r.get("policy").get("version").asText());

                JsonNode a = audit.get("r1").get(0);
                assertEquals("COMPLETED", a.get("status").asText());
                assertEquals("graffiti of the snoopy", a.get("prompt").asText(), "standard policy stores prompts");
                assertEquals(64, a.get("promptSha256").asText().length());
                assertEquals(64, a.get("policy").get("sha256").asText().length());
                assertEquals("linear", a.get("stacking").asText());
                assertEquals(5, a.get("adapters").size());
                JsonNode snoopy = a.get("adapters").get(1);
                assertEquals("snoopy", snoopy.get("concept").asText());
                assertEquals("copyright", snoopy.get("category").asText());
                assertEquals(CATALOG.get("snoopy").sha256(), snoopy.get("sha256").asText());
                assertEquals(1.0, snoopy.get("st").asDouble(), 1e-12);
                assertEquals(1.0, snoopy.get("gamma").asDouble(), 1e-9);
                JsonNode nudity = a.get("adapters").get(0);
                assertEquals(2.0, nudity.get("gamma").asDouble(), "catalog default: fixed 2.0");
                assertTrue(nudity.get("sf").isNull());
                assertTrue(a.get("model").get("files").has("unet/model.onnx"));
                assertEquals(img.get("sha256").asText(), a.get("imageSha256").get(0).asText());
                assertEquals("e2e-1", a.get("gatewayInstance").asText());
                assertEquals("cpu", a.get("device").asText());
                for (String t : List.of("queue", "textEncoding", "denoising", "decoding", "total")) assertTrue(a.get("timingsMs").has(t), t);
            } finally {
                g.close();
            }
        }
    }

    /** Two tenants under different policies (linear vs official stacking, other adapters) share one UNet batch. */
    @Test
    void twoTenantsWithDifferentPoliciesInOneBatchGetTheImagesTheyGetAlone(@TempDir Path dir) throws Exception {
        try (GatewayHarness h = new GatewayHarness(dir, "mixed")) {
            // both on one partition, a long batch wait: they meet in one batch
            h.sendTo(0, "a", GatewayHarness.request("a", "someone", "graffiti of the snoopy", 7));
            h.sendTo(0, "b", GatewayHarness.request("b", "acme", "a painting in the style of van gogh", 8));
            KafkaGateway g = h.start("mixed-1", 3000, CATALOG);
            Map<String, List<JsonNode>> together;
            Map<String, List<JsonNode>> audit;
            try {
                together = h.readJson(h.topics.results(), 2, 60_000);
                audit = h.readJson(h.topics.audit(), 2, 30_000);
            } finally {
                g.close();
            }
            assertEquals(2, audit.get("a").get(0).get("batchRequests").asInt(), "the two requests must share a batch");
            assertEquals(2, audit.get("b").get(0).get("batchRequests").asInt());
            assertEquals("linear", audit.get("a").get(0).get("stacking").asText());
            assertEquals("official", audit.get("b").get(0).get("stacking").asText());
            assertEquals(1, audit.get("a").get(0).get("gammaPower").asInt());
            assertEquals(2, audit.get("b").get(0).get("gammaPower").asInt());
            assertEquals("kids", together.get("b").get(0).get("policy").get("id").asText());
            assertTrue(audit.get("b").get(0).get("adapters").get(1).get("gamma").asDouble() >= 0.5, "the policy's minimum γ");

            // the same requests, each alone, straight through the core pipeline
            var model = GatewayHarness.model();
            var store = h.policies(CATALOG);
            for (String id : List.of("a", "b")) {
                var req = id.equals("a")
                        ? new dev.membrane.diffusion.ImageSpec("graffiti of the snoopy", "", 7)
                        : new dev.membrane.diffusion.ImageSpec("a painting in the style of van gogh", "", 8);
                var decision = store.decide(id.equals("a") ? "someone" : "acme", "test");
                var adapters = decision.adapters().stream().map(x -> new dev.membrane.spm.AdapterPipeline.AdapterRequest(x.file(), x.transport())).toList();
                var alone = model.pipeline().generate(new dev.membrane.diffusion.GenerationRequest(List.of(req), 64, 64, 4, 7.5,
                        dev.membrane.diffusion.scheduler.SchedulerKind.DDIM),
                        List.of(new dev.membrane.spm.AdapterPipeline.ImageStack(adapters, decision.policy().stacking())));
                byte[] batched = Base64.getDecoder().decode(together.get(id).get(0).get("images").get(0).get("data").asText());
                int diff = dev.membrane.spm.AdapterPipelineTest.maxDiff(batched, alone.generation().images().get(0).png());
                assertTrue(diff <= 2, id + ": batched image differs from the one made alone by " + diff);
            }
        }
    }

    @Test
    void everyKindOfBadInputGoesToTheDeadLetterTopicAndThePartitionKeepsFlowing(@TempDir Path dir) throws Exception {
        try (GatewayHarness h = new GatewayHarness(dir, "bad")) {
            Map<String, String> bad = new java.util.LinkedHashMap<>();
            bad.put("notjson", "this is not json");
            bad.put("array", "[1, 2]");
            bad.put("noid", "{\"prompt\": \"a cat\"}");
            bad.put("x1", "{\"requestId\": \"x1\"}");
            bad.put("x2", "{\"requestId\": \"x2\", \"prompt\": \"a cat\", \"width\": \"64\"}");
            bad.put("x3", "{\"requestId\": \"x3\", \"prompt\": \"" + "cat ".repeat(200) + "\"}");
            bad.put("x4", "{\"requestId\": \"x4\", \"prompt\": \"a cat\", \"width\": 65}");
            bad.put("x5", "{\"requestId\": \"x5\", \"prompt\": \"a cat\", \"width\": 4096, \"height\": 4096}");
            bad.put("x6", "{\"requestId\": \"x6\", \"prompt\": \"a cat\", \"steps\": 0}");
            bad.put("x7", "{\"requestId\": \"x7\", \"prompt\": \"a cat\", \"steps\": 1000}");
            bad.put("x8", "{\"requestId\": \"x8\", \"prompt\": \"a cat\", \"model\": \"sdxl\"}");
            bad.put("x9", "{\"requestId\": \"x9\", \"prompt\": \"a cat\", \"numImages\": 99}");
            bad.put("x10", "{\"requestId\": 17, \"prompt\": \"a cat\"}");
            bad.put("x11", "{\"requestId\": \"x11\", \"prompt\": \"a cat\", \"scheduler\": \"lms\"}");
            bad.put("x12", "{\"requestId\": \"" + "i".repeat(129) + "\", \"prompt\": \"a cat\"}");
            for (var e : bad.entrySet()) h.sendTo(0, e.getKey(), e.getValue());
            h.sendTo(0, "ok", GatewayHarness.request("ok", "someone", "a photo of a cat", 1));
            KafkaGateway g = h.start("bad-1", 50, CATALOG);
            try {
                var dlq = h.read(h.topics.deadLetters(), l -> l.size() >= bad.size(), 60_000);
                assertEquals(bad.size(), dlq.size());
                for (var r : dlq) {
                    var headers = GatewayHarness.headers(r);
                    MessageSchemas.assertValidHeaders(headers);
                    assertTrue(headers.get("membrane.reason").matches("[A-Z_]+: .+"), headers.toString());
                    assertEquals(h.topics.requests(), headers.get("membrane.original.topic"));
                    assertEquals("0", headers.get("membrane.original.partition"));
                    String key = headers.get("membrane.original.key");
                    assertEquals(bad.get(key), new String(r.value()), "the original bytes, unchanged");
                }
                Map<String, List<JsonNode>> results = h.readJson(h.topics.results(), 11, 60_000);
                for (String id : List.of("x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x11")) {
                    JsonNode r = results.get(id).get(0);
                    MessageSchemas.assertValid("result.schema.json", r);
                    assertEquals("REJECTED", r.get("status").asText(), id);
                    assertEquals(1, results.get(id).size());
                }
                assertEquals("MISSING_FIELD", results.get("x1").get(0).get("error").get("code").asText());
                assertEquals("INVALID_FIELD", results.get("x2").get(0).get("error").get("code").asText());
                assertEquals("OUT_OF_BOUNDS", results.get("x3").get(0).get("error").get("code").asText());
                assertEquals("UNKNOWN_MODEL", results.get("x8").get(0).get("error").get("code").asText());
                assertTrue(results.get("x4").get(0).get("error").get("message").asText().contains("multiples of 8"));
                assertEquals("COMPLETED", results.get("ok").get(0).get("status").asText(), "the partition keeps flowing");
                Map<String, List<JsonNode>> audit = h.readJson(h.topics.audit(), bad.size() + 1, 30_000);
                assertEquals(bad.size() + 1, audit.values().stream().mapToInt(List::size).sum(), "one audit record per input record");
                audit.values().forEach(list -> list.forEach(a -> MessageSchemas.assertValid("audit.schema.json", a)));
                assertEquals("REJECTED", audit.get("x5").get(0).get("status").asText());
                assertTrue(audit.get("x5").get(0).get("reason").asText().startsWith("OUT_OF_BOUNDS"));
                assertTrue(g.live() && g.ready(), "the service stays up");
            } finally {
                g.close();
            }
        }
    }

    /**
     * Issue 13, defect 1, on a real broker with the documented topic limits (kafka/create-topics.sh: 1 MiB for the
     * dead letters, and here a results topic of 40 kB: one 64x64 image fits, four do not): a 600,000-character field and a result over
     * its topic's limit each end alone, and a valid request on the other partition is served at once.
     */
    @Test
    void recordsTheTopicsWouldRefuseEndAloneAndTheOtherPartitionFlows(@TempDir Path dir) throws Exception {
        try (GatewayHarness h = new GatewayHarness(dir, "limits")) {
            h.topicLimit(h.topics.deadLetters(), 1_048_576);
            h.topicLimit(h.topics.results(), 40_000);
            h.sendTo(0, "huge", "{\"requestId\":\"huge\",\"prompt\":\"a cat\",\"scheduler\":\"" + "z".repeat(600_000) + "\"}");
            h.sendTo(0, "four", "{\"requestId\":\"four\",\"prompt\":\"a cat\",\"steps\":2,\"numImages\":4,\"seed\":1}");
            KafkaGateway g = h.start("limits-1", 0, CATALOG);
            try {
                h.sendTo(1, "other", GatewayHarness.request("other", "someone", "a photo of a cat", 2));
                long start = System.currentTimeMillis();
                Map<String, List<JsonNode>> results = h.readJson(h.topics.results(), 3, 60_000);
                assertEquals(Set.of("huge", "four", "other"), results.keySet());
                assertTrue(System.currentTimeMillis() - start < 30_000, "nothing stalled");
                assertEquals("INVALID_FIELD", results.get("huge").get(0).get("error").get("code").asText());
                assertTrue(results.get("huge").get(0).get("error").get("message").asText().length() < 1200);
                assertEquals("OUTPUT_TOO_LARGE", results.get("four").get(0).get("error").get("code").asText());
                assertEquals(0, results.get("four").get(0).get("images").size());
                assertEquals("COMPLETED", results.get("other").get(0).get("status").asText());
                var dlq = h.read(h.topics.deadLetters(), l -> l.size() >= 2, 30_000);
                assertEquals(2, dlq.size(), "the bad request and the too-large output are dead-lettered");
                for (var r : dlq) assertTrue(GatewayHarness.headers(r).get("membrane.reason").length() < 1200);
                assertTrue(g.live() && g.ready());
            } finally {
                g.close();
            }
        }
    }

    @Test
    void tamperedAdapterFailsItsPolicyClosedWhileOtherPoliciesServe(@TempDir Path dir) throws Exception {
        Path adapters = dir.resolve("adapters");
        java.nio.file.Files.createDirectories(adapters);
        for (String f : List.of("catalog.json", "nudity.safetensors", "snoopy.safetensors", "mickey-mouse.safetensors",
                "pikachu.safetensors", "van-gogh.safetensors")) {
            java.nio.file.Files.copy(Path.of("adapters", f), adapters.resolve(f));
        }
        byte[] snoopy = java.nio.file.Files.readAllBytes(adapters.resolve("snoopy.safetensors"));
        snoopy[snoopy.length - 3] ^= 0x10;
        java.nio.file.Files.write(adapters.resolve("snoopy.safetensors"), snoopy);
        AdapterCatalog tampered = AdapterCatalog.load(adapters.resolve("catalog.json"));
        try (GatewayHarness h = new GatewayHarness(dir, "tamper")) {
            h.send("s1", GatewayHarness.request("s1", "someone", "graffiti of the snoopy", 1));
            h.send("t1", GatewayHarness.request("t1", "toons", "a cartoon dog", 2));
            h.send("k1", GatewayHarness.request("k1", "acme", "a photo of a house", 3));
            KafkaGateway g = h.start("tamper-1", 50, tampered);
            try {
                Map<String, List<JsonNode>> results = h.readJson(h.topics.results(), 3, 60_000);
                for (String id : List.of("s1", "t1")) {
                    JsonNode r = results.get(id).get(0);
                    assertEquals("REJECTED", r.get("status").asText(), id);
                    assertEquals("POLICY_REFUSED", r.get("error").get("code").asText());
                    assertTrue(r.get("error").get("message").asText().contains("snoopy"), r.toString());
                    assertTrue(r.get("images").isEmpty(), "never an unmoderated image");
                    MessageSchemas.assertValid("result.schema.json", r);
                }
                assertEquals("COMPLETED", results.get("k1").get(0).get("status").asText(), "the kids policy has no snoopy adapter");
                Map<String, List<JsonNode>> audit = h.readJson(h.topics.audit(), 3, 30_000);
                assertEquals("REJECTED", audit.get("s1").get(0).get("status").asText());
                assertEquals("standard", audit.get("s1").get(0).get("policy").get("id").asText());
                var dlq = h.read(h.topics.deadLetters(), l -> false, 1_000);
                assertTrue(dlq.isEmpty(), "a refusal by policy is not malformed input");
            } finally {
                g.close();
            }
        }
    }

    /** Stop the gateway without warning in the middle of a load, start it again: no request lost, none twice. */
    @Test
    void crashAndRestartMidLoadLosesNothingAndDuplicatesNothing(@TempDir Path dir) throws Exception {
        int n = 24;
        try (GatewayHarness h = new GatewayHarness(dir, "restart")) {
            for (int i = 0; i < n; i++) h.send("q" + i, GatewayHarness.request("q" + i, "someone", "a photo of a cat " + i, i));
            KafkaGateway first = h.start("restart-1", 20, CATALOG);
            var partial = h.read(h.topics.results(), l -> l.size() >= 4, 60_000);
            assertTrue(partial.size() >= 4 && partial.size() < n, "stop while work is in flight: " + partial.size());
            first.closeAbruptly();
            KafkaGateway second = h.start("restart-1", 20, CATALOG);
            try {
                Map<String, List<JsonNode>> results = h.readJson(h.topics.results(), n, 120_000);
                Thread.sleep(1500); // anything late would show up now
                results = h.readJson(h.topics.results(), n, 5_000);
                assertEquals(n, results.size(), "every request has a result");
                for (var e : results.entrySet()) {
                    assertEquals(1, e.getValue().size(), e.getKey() + " has " + e.getValue().size() + " results");
                    assertEquals("COMPLETED", e.getValue().get(0).get("status").asText());
                }
                Map<String, List<JsonNode>> audit = h.readJson(h.topics.audit(), n, 30_000);
                assertEquals(n, audit.size());
                audit.forEach((k, v) -> assertEquals(1, v.size(), k + " has " + v.size() + " audit records"));
            } finally {
                second.close();
            }
        }
    }
}
