package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;

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
}
