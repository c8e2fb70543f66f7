package dev.membrane.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every kustomization builds with the machine's {@code kubectl kustomize} (default load restrictions), and what it
 * builds passes the same API-model checks as the source manifests; the generated ConfigMaps carry the repository's
 * one catalog and policy byte for byte. Skips without kubectl.
 */
class KustomizeBuildTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @ParameterizedTest
    @ValueSource(strings = {"k8s/base", "k8s/overlays/gpu"})
    void buildsAndEveryObjectMatchesItsApi(String kustomization) throws Exception {
        Assumptions.assumeTrue(kubectl(), "no kubectl on this machine");
        Process p = new ProcessBuilder("kubectl", "kustomize", kustomization).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "kubectl kustomize " + kustomization + ": " + err);
        Map<String, JsonNode> byId = new LinkedHashMap<>();
        List<String> kinds = new ArrayList<>();
        try (var parser = new YAMLFactory().createParser(out)) {
            var it = YAML.readValues(parser, JsonNode.class);
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc == null || doc.isNull()) continue;
                String id = doc.path("kind").asText() + "/" + doc.path("metadata").path("name").asText();
                K8sManifestsTest.typed(doc, kustomization + " " + id);
                byId.put(id, doc);
                kinds.add(doc.path("kind").asText());
            }
        }
        assertEquals(11, byId.size(), byId.keySet().toString());
        assertEquals(Files.readString(Path.of("adapters/catalog.json")),
                byId.get("ConfigMap/membrane-adapter-catalog").path("data").path("catalog.json").asText(), "one catalog");
        assertEquals(Files.readString(Path.of("k8s/base/policy.yaml")),
                byId.get("ConfigMap/membrane-policy").path("data").path("policy.yaml").asText(), "one policy");
        // the common labels reach the catalog's ConfigMap too, though it is generated outside k8s/base
        assertEquals("membrane", byId.get("ConfigMap/membrane-adapter-catalog").path("metadata").path("labels").path("app.kubernetes.io/name").asText());
        if (kustomization.endsWith("gpu")) {
            JsonNode c = byId.get("Deployment/membrane").path("spec").path("template").path("spec").path("containers").get(0);
            assertEquals("1", c.path("resources").path("limits").path("nvidia.com/gpu").asText());
        }
    }

    private static boolean kubectl() {
        try {
            Process p = new ProcessBuilder("kubectl", "version", "--client").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
