package dev.membrane.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;

/**
 * Quarkus generates target/kubernetes/kubernetes.yml from application.properties at package time; the hand-written
 * k8s/base must agree with it on what both express: port, probe paths, the container's arguments.
 */
class GeneratedManifestIT {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static Container container(Path file) throws Exception {
        try (var p = new YAMLFactory().createParser(file.toFile())) {
            var it = YAML.readValues(p, JsonNode.class);
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && "Deployment".equals(n.path("kind").asText())) {
                    return YAML.treeToValue(n, Deployment.class).getSpec().getTemplate().getSpec().getContainers().get(0);
                }
            }
        }
        return null;
    }

    @Test
    void handWrittenDeploymentAgreesWithTheGeneratedOne() throws Exception {
        Path generated = Path.of("target/kubernetes/kubernetes.yml");
        assertNotNull(Files.exists(generated) ? generated : null, "package generates " + generated);
        Container g = container(generated);
        Container k = container(Path.of("k8s/base/deployment.yaml"));
        assertEquals(g.getPorts().get(0).getContainerPort(), k.getPorts().get(0).getContainerPort());
        assertEquals(g.getLivenessProbe().getHttpGet().getPath(), k.getLivenessProbe().getHttpGet().getPath());
        assertEquals(g.getReadinessProbe().getHttpGet().getPath(), k.getReadinessProbe().getHttpGet().getPath());
        assertEquals(g.getStartupProbe().getHttpGet().getPath(), k.getStartupProbe().getHttpGet().getPath());
        assertEquals(g.getStartupProbe().getFailureThreshold(), k.getStartupProbe().getFailureThreshold());
        assertEquals(List.of("serve"), g.getArgs());
        assertEquals(g.getArgs(), k.getArgs());
    }
}
