package dev.membrane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.Hashes;
import dev.membrane.testing.SafetyFixtures;

/**
 * The policy playground end to end: {@code serve} on the embedded default (the shapes model and its demo policy),
 * the page in headless Chromium driven by Playwright ({@code src/test/node/playground-browser.cjs}). It types a
 * prompt whose concept the kids-app policy erases, clicks, waits for both images, and checks that they differ,
 * that the γ bar is the policy's, and that the images shown are the ones the audit record names. Skips without
 * Debian's chromium or the playwright-core module {@code .ci/run} installs.
 */
class PlaygroundBrowserIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "playground-it-t0ken";

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    static Path playwrightModules() {
        return SafetyFixtures.cache().resolve("browser").resolve("node_modules");
    }

    @Test
    void comparesInChromium(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/chromium")), "Debian's chromium (.ci/run installs it)");
        Assumptions.assumeTrue(Files.isDirectory(playwrightModules().resolve("playwright-core")), "playwright-core under " + playwrightModules());
        Assumptions.assumeTrue(Files.exists(Path.of("models/shapes/model_index.json")), "the committed shapes model");
        int kafkaPort = freePort();
        int httpPort = freePort();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Dmembrane.data-dir=" + dir.resolve("data"), "-Dmembrane.kafka.embedded.port=" + kafkaPort,
                "-Dquarkus.http.port=" + httpPort, "-Dmembrane.device=cpu", "-Dmembrane.admin.token=" + TOKEN, "-jar", "target/quarkus-app/quarkus-run.jar");
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("serve.log").toFile());
        Process serve = pb.start();
        HttpClient http = HttpClient.newHttpClient();
        try {
            awaitReady(http, httpPort, serve, dir);
            var page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/playground")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, page.statusCode(), "the page itself needs no token");
            assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("script-src 'self'"));

            List<String> cmd = new ArrayList<>(List.of("node", Path.of("src/test/node/playground-browser.cjs").toAbsolutePath().toString(),
                    "http://127.0.0.1:" + httpPort, TOKEN, "demo", "kids-app", "a red circle", "3"));
            ProcessBuilder node = new ProcessBuilder(cmd).redirectError(dir.resolve("browser.err").toFile());
            node.environment().put("NODE_PATH", playwrightModules().toString());
            node.environment().put("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
            Process browser = node.start();
            String out = new String(browser.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(browser.waitFor(180, TimeUnit.SECONDS), "the browser run ends");
            assertEquals(0, browser.exitValue(), "browser run failed: " + Files.readString(dir.resolve("browser.err")) + "\n" + out);
            JsonNode shown = JSON.readTree(out);

            assertTrue(shown.get("refused").asText().contains("401"), "a wrong token is refused on the page: " + shown.get("refused"));
            assertTrue(shown.get("problems").isEmpty(), "no script errors: " + shown.get("problems"));
            assertTrue(shown.get("choices").findValuesAsText("policy").contains("no-circles"), "the picker is fed by the policies: " + shown.get("choices"));
            assertEquals("done", shown.get("state").asText(), shown.get("error").asText());
            assertTrue(shown.get("status").asText().startsWith("COMPLETED"), shown.get("status").asText());
            String base = shown.get("base").asText();
            String moderated = shown.get("moderated").asText();
            assertTrue(base.startsWith("data:image/png;base64,") && moderated.startsWith("data:image/png;base64,"));
            assertNotEquals(base, moderated, "the circle adapter fires on 'a red circle' and changes the image");
            assertEquals(128, shown.get("baseWidth").asInt(), "the image decoded in the browser, at the side the shapes model learned");

            JsonNode gamma = shown.get("gammas").get(0);
            assertEquals("shapes-circle", gamma.get("concept").asText());
            assertEquals(1.5, gamma.get("gamma").asDouble(), 1e-9, "kids-app: facilitated x1.5 (the catalog's), the prompt names the concept (s_t = 1)");
            assertTrue(gamma.get("widthPx").asDouble() > 0, "drawn as a bar");
            assertTrue(shown.get("scoreRows").asInt() > 10, "the output check's scores are shown");

            // what the page shows is what the audit record names, and that record is on the audit topic
            JsonNode audit = JSON.readTree(shown.get("audit").asText());
            assertEquals("playground", audit.get("source").get("kind").asText());
            JsonNode images = audit.get("source").get("images");
            assertEquals(Hashes.sha256(png(base)), images.get(0).get("sha256").asText());
            assertEquals(Hashes.sha256(png(moderated)), images.get(1).get("sha256").asText());
            assertTrue(auditTopicHas(kafkaPort, audit.get("requestId").asText()), "the audit record was published");
        } finally {
            serve.destroy();
            if (!serve.waitFor(60, TimeUnit.SECONDS)) serve.destroyForcibly();
        }
    }

    private static byte[] png(String dataUri) {
        return Base64.getDecoder().decode(dataUri.substring(dataUri.indexOf(',') + 1));
    }

    private static boolean auditTopicHas(int kafkaPort, String requestId) {
        java.util.Properties cp = new java.util.Properties();
        cp.put("bootstrap.servers", "127.0.0.1:" + kafkaPort);
        cp.put("group.id", "playground-it");
        cp.put("auto.offset.reset", "earliest");
        try (var c = new org.apache.kafka.clients.consumer.KafkaConsumer<String, String>(cp, new org.apache.kafka.common.serialization.StringDeserializer(),
                new org.apache.kafka.common.serialization.StringDeserializer())) {
            c.subscribe(List.of("membrane.audit"));
            long until = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < until) {
                for (var r : c.poll(java.time.Duration.ofMillis(300))) if (requestId.equals(r.key())) return true;
            }
        }
        return false;
    }

    private static void awaitReady(HttpClient http, int port, Process p, Path dir) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline && p.isAlive()) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200) return;
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(500);
        }
        throw new AssertionError("never ready: " + Files.readString(dir.resolve("serve.log")));
    }
}
