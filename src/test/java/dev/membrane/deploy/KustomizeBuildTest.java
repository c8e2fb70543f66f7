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

    /**
     * The training Job: builds on its own (applying the gateway never starts a run), asks for one GPU, runs
     * {@code spm train} with options the command has, on CUDA, and writes under the gateway's adapters folder on
     * the same models volume.
     */
    @org.junit.jupiter.api.Test
    void theSpmTrainJobBuildsAndWritesIntoTheAdaptersVolume() throws Exception {
        Assumptions.assumeTrue(kubectl(), "no kubectl on this machine");
        Process p = new ProcessBuilder("kubectl", "kustomize", "k8s/jobs/spm-train").start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        JsonNode job = YAML.readTree(out);
        K8sManifestsTest.typed(job, "k8s/jobs/spm-train Job");
        assertEquals("Job", job.path("kind").asText());
        JsonNode pod = job.path("spec").path("template").path("spec");
        assertEquals("Never", pod.path("restartPolicy").asText());
        JsonNode c = pod.path("containers").get(0);
        assertEquals("1", c.path("resources").path("limits").path("nvidia.com/gpu").asText());
        assertTrue(c.path("image").asText().endsWith("-gpu"), "the GPU image");
        List<String> args = new ArrayList<>();
        c.path("args").forEach(a -> args.add(a.asText()));
        assertEquals(List.of("spm", "train"), args.subList(0, 2));
        // every option is one spm train has, and the required ones are there
        var parsed = new picocli.CommandLine(new dev.membrane.cli.SpmTrainCommand()).parseArgs(args.subList(2, args.size()).toArray(String[]::new));
        assertEquals("cuda", parsed.matchedOptionValue("--device", "cpu"));
        String outFile = parsed.matchedOptionValue("--out", Path.of("")).toString();
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("k8s/base/membrane.env"))) {
            if (!line.isBlank() && !line.startsWith("#")) env.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
        }
        assertTrue(outFile.startsWith(env.get("MEMBRANE_ADAPTERS_DIR") + "/"), outFile + " is under the gateway's adapters folder");
        assertTrue(parsed.matchedOptionValue("--model", Path.of("")).toString().equals(env.get("MEMBRANE_MODELS_SD15")), "the model the gateway serves");
        // the same claim as the gateway's models volume, mounted writable here
        JsonNode deployment = YAML.readTree(Path.of("k8s/base/deployment.yaml").toFile());
        String claim = null;
        for (JsonNode v : deployment.path("spec").path("template").path("spec").path("volumes")) {
            if (v.path("name").asText().equals("models")) claim = v.path("persistentVolumeClaim").path("claimName").asText();
        }
        String jobClaim = null;
        for (JsonNode v : pod.path("volumes")) if (v.path("name").asText().equals("models")) jobClaim = v.path("persistentVolumeClaim").path("claimName").asText();
        assertEquals(claim, jobClaim);
        for (JsonNode m : c.path("volumeMounts")) {
            if (m.path("name").asText().equals("models")) assertTrue(!m.path("readOnly").asBoolean(false), "the Job writes the adapters volume");
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
