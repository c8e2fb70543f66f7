package dev.membrane.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import io.strimzi.api.kafka.model.user.acl.AclRule;
import io.strimzi.api.kafka.model.user.acl.AclRuleGroupResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTopicResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTransactionalIdResource;
import org.junit.jupiter.api.Test;

import dev.membrane.onnx.DeviceChoice;
import dev.membrane.policy.PolicyDocument;
import dev.membrane.spm.catalog.AdapterCatalog;

/**
 * Every manifest in k8s/ and kafka/strimzi/ against the API models of Fabric8 (Kubernetes, Prometheus operator)
 * and Strimzi, failing on any field the model does not know; KEDA's resources against a strict schema of its
 * documented fields; and the cross-references between manifests, topics and application.properties.
 */
class K8sManifestsTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()).configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
    private static final Map<String, Class<?>> TYPES = Map.of(
            "apps/v1/Deployment", Deployment.class,
            "v1/Service", Service.class,
            "v1/ServiceAccount", ServiceAccount.class,
            "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
            "networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class,
            "monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class,
            "kafka.strimzi.io/v1beta2/KafkaTopic", KafkaTopic.class,
            "kafka.strimzi.io/v1beta2/KafkaUser", KafkaUser.class,
            "v1/ConfigMap", io.fabric8.kubernetes.api.model.ConfigMap.class,
            "batch/v1/Job", io.fabric8.kubernetes.api.model.batch.v1.Job.class);

    private static List<JsonNode> documents(Path file) throws Exception {
        List<JsonNode> docs = new ArrayList<>();
        try (YAMLParser p = new YAMLFactory().createParser(file.toFile())) {
            var it = YAML.readValues(p, JsonNode.class);
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && !n.isNull() && !n.isMissingNode()) docs.add(n);
            }
        }
        return docs;
    }

    /** The resources a kustomization lists, as files. */
    private static List<Path> resources(Path kustomization) throws Exception {
        JsonNode k = YAML.readTree(kustomization.toFile());
        List<Path> out = new ArrayList<>();
        k.path("resources").forEach(r -> out.add(kustomization.resolveSibling(r.asText()).normalize()));
        return out;
    }

    private static Map<String, Object> typedObjects() throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        List<Path> files = new ArrayList<>(resources(Path.of("k8s/base/kustomization.yaml")));
        files.add(Path.of("kafka/strimzi/topics.yaml"));
        files.add(Path.of("kafka/strimzi/user.yaml"));
        for (Path f : files) {
            if (Files.isDirectory(f)) continue;
            for (JsonNode doc : documents(f)) {
                String id = f + " " + doc.path("apiVersion").asText() + "/" + doc.path("kind").asText() + " " + doc.path("metadata").path("name").asText();
                out.put(id, typed(doc, id));
            }
        }
        return out;
    }

    /**
     * One manifest checked against its API: the KEDA JSON Schema, else its Fabric8/Strimzi model with no unknown
     * field. Returns the typed object (the tree for KEDA).
     */
    static Object typed(JsonNode doc, String id) throws Exception {
        String type = doc.path("apiVersion").asText() + "/" + doc.path("kind").asText();
        if (type.startsWith("keda.sh/")) {
            var keda = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                    .getSchema(YAML.readTree(Path.of("src/test/resources/schemas/keda-v1alpha1.schema.json").toFile()));
            var errors = keda.validate(doc);
            assertTrue(errors.isEmpty(), id + ": " + errors);
            return doc;
        }
        Class<?> cls = TYPES.get(type);
        assertNotNull(cls, id + ": no API model for " + type);
        Object typed = YAML.treeToValue(doc, cls);
        List<String> unknown = new ArrayList<>();
        unknownFields(typed, "", unknown, new IdentityHashMap<>());
        assertTrue(unknown.isEmpty(), id + ": fields the API does not have: " + unknown);
        return typed;
    }

    /** Fabric8 and Strimzi keep unknown fields in additionalProperties: any there is a mistake in the manifest. */
    static void unknownFields(Object o, String path, List<String> out, IdentityHashMap<Object, Boolean> seen) throws Exception {
        if (o == null || seen.put(o, true) != null) return;
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) unknownFields(e, path + "[" + i++ + "]", out, seen);
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) unknownFields(e.getValue(), path + "." + e.getKey(), out, seen);
            return;
        }
        String pkg = o.getClass().getPackageName();
        if (!pkg.startsWith("io.fabric8") && !pkg.startsWith("io.strimzi")) return;
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || !m.getName().startsWith("get") || m.getName().equals("getClass")) continue;
            Object v = m.invoke(o);
            if (m.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> extra && !extra.isEmpty()) out.add(path + " " + extra.keySet());
                continue;
            }
            unknownFields(v, path + "." + m.getName().substring(3), out, seen);
        }
    }

    @Test
    void everyManifestMatchesItsApi() throws Exception {
        Map<String, Object> objects = typedObjects();
        assertEquals(17, objects.size(), objects.keySet().toString());
    }

    @Test
    void aManifestWithAMisspelledFieldFails() throws Exception {
        ObjectNode d = (ObjectNode) documents(Path.of("k8s/base/deployment.yaml")).get(0);
        ((ObjectNode) d.get("spec")).put("replica", 2);
        List<String> unknown = new ArrayList<>();
        unknownFields(YAML.treeToValue(d, Deployment.class), "", unknown, new IdentityHashMap<>());
        assertFalse(unknown.isEmpty(), "the walk must notice unknown fields");
    }

    private static <T> T only(Map<String, Object> objects, Class<T> cls) {
        List<T> all = objects.values().stream().filter(cls::isInstance).map(cls::cast).toList();
        assertEquals(1, all.size(), cls.getSimpleName());
        return all.get(0);
    }

    private static Map<String, String> env() throws Exception {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("k8s/base/membrane.env"))) {
            if (line.isBlank() || line.startsWith("#")) continue;
            int eq = line.indexOf('=');
            env.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return env;
    }

    /** Keys of application.properties, commented examples included, in environment-variable form. */
    private static Map<String, String> propertiesAsEnv() throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("src/main/resources/application.properties"))) {
            String l = line.startsWith("# ") ? line.substring(2) : line;
            if (!l.matches("^[%a-z][\\w.\\-\"%]*=.*")) continue;
            String key = l.substring(0, l.indexOf('='));
            if (key.startsWith("%")) continue;
            out.put(key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(), l.substring(l.indexOf('=') + 1));
        }
        return out;
    }

    @Test
    void crossReferencesAgree() throws Exception {
        Map<String, Object> objects = typedObjects();
        Deployment deployment = only(objects, Deployment.class);
        Container c = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        Map<String, String> env = env();
        Map<String, String> props = propertiesAsEnv();

        // every setting in membrane.env is a configuration key of the application (map keys of membrane.models too)
        for (String key : env.keySet()) {
            assertTrue(props.containsKey(key) || key.startsWith("MEMBRANE_MODELS_"), key + " is not a key of application.properties");
        }
        for (EnvVar e : c.getEnv()) assertTrue(props.containsKey(e.getName()), e.getName());
        // the topics and the group are the application's defaults, Strimzi's topics and KEDA's
        Set<String> topicNames = objects.values().stream().filter(KafkaTopic.class::isInstance).map(o -> ((KafkaTopic) o).getSpec().getTopicName())
                .collect(Collectors.toSet());
        for (String t : List.of("REQUESTS", "RESULTS", "AUDIT", "DEAD_LETTERS")) {
            assertEquals(props.get("MEMBRANE_TOPICS_" + t), env.get("MEMBRANE_TOPICS_" + t));
            assertTrue(topicNames.contains(env.get("MEMBRANE_TOPICS_" + t)), t);
        }
        JsonNode scaled = (JsonNode) objects.entrySet().stream().filter(e -> e.getKey().contains("ScaledObject")).findFirst().orElseThrow().getValue();
        JsonNode trigger = scaled.get("spec").get("triggers").get(0).get("metadata");
        assertEquals(env.get("MEMBRANE_TOPICS_REQUESTS"), trigger.get("topic").asText());
        assertEquals(env.get("MEMBRANE_GATEWAY_GROUP_ID"), trigger.get("consumerGroup").asText());
        assertEquals(props.get("MEMBRANE_GATEWAY_GROUP_ID"), env.get("MEMBRANE_GATEWAY_GROUP_ID"));
        assertEquals(env.get("MEMBRANE_KAFKA_BOOTSTRAP_SERVERS"), trigger.get("bootstrapServers").asText());
        assertEquals(deployment.getMetadata().getName(), scaled.get("spec").get("scaleTargetRef").get("name").asText());
        int requestPartitions = objects.values().stream().filter(KafkaTopic.class::isInstance).map(KafkaTopic.class::cast)
                .filter(t -> t.getSpec().getTopicName().equals(env.get("MEMBRANE_TOPICS_REQUESTS"))).findFirst().orElseThrow().getSpec().getPartitions();
        assertTrue(scaled.get("spec").get("maxReplicaCount").asInt() <= requestPartitions, "more consumers than partitions would idle");
        for (Object o : objects.values()) {
            if (o instanceof KafkaTopic t) {
                assertEquals(3, t.getSpec().getReplicas());
                assertEquals("2", String.valueOf(t.getSpec().getConfig().get("min.insync.replicas")));
            }
        }
        // the user's ACLs cover what the gateway does, and its transactional ids
        KafkaUser user = objects.values().stream().filter(KafkaUser.class::isInstance).map(KafkaUser.class::cast)
                .filter(u -> u.getMetadata().getName().equals("membrane")).findFirst().orElseThrow();
        List<AclRule> acls = ((io.strimzi.api.kafka.model.user.KafkaUserAuthorizationSimple) user.getSpec().getAuthorization()).getAcls();
        Map<String, Set<String>> ops = new LinkedHashMap<>();
        for (AclRule r : acls) {
            var resource = r.getResource();
            String res = resource instanceof AclRuleTopicResource t ? "topic:" + t.getName()
                    : resource instanceof AclRuleGroupResource g ? "group:" + g.getName()
                    : resource instanceof AclRuleTransactionalIdResource x ? "transactionalId:" + x.getName() : "other";
            ops.put(res, r.getOperations().stream().map(o -> o.toString().toUpperCase(java.util.Locale.ROOT)).collect(Collectors.toSet()));
        }
        assertTrue(ops.get("topic:" + env.get("MEMBRANE_TOPICS_REQUESTS")).contains("READ"));
        assertTrue(ops.get("group:" + env.get("MEMBRANE_GATEWAY_GROUP_ID")).contains("READ"));
        for (String t : List.of("RESULTS", "AUDIT", "DEAD_LETTERS")) assertTrue(ops.get("topic:" + env.get("MEMBRANE_TOPICS_" + t)).contains("WRITE"), t);
        assertTrue(ops.get("transactionalId:membrane-").contains("WRITE"), "the gateway's transactional.id is membrane-<instance id>");
        assertFalse(ops.get("topic:" + env.get("MEMBRANE_TOPICS_REQUESTS")).contains("WRITE"), "no more than needed");
        // policies over Kafka: a compacted one-partition topic, read (never written) by the gateway under its group prefix
        String policyTopic = env.get("MEMBRANE_POLICY_TOPIC");
        assertEquals(props.get("MEMBRANE_POLICY_TOPIC"), policyTopic);
        KafkaTopic policies = objects.values().stream().filter(KafkaTopic.class::isInstance).map(KafkaTopic.class::cast)
                .filter(t -> t.getSpec().getTopicName().equals(policyTopic)).findFirst().orElseThrow();
        assertEquals("compact", policies.getSpec().getConfig().get("cleanup.policy"));
        assertEquals(1, policies.getSpec().getPartitions(), "the newest document must be the last in one log");
        assertTrue(ops.get("topic:" + policyTopic).contains("READ"));
        assertFalse(ops.get("topic:" + policyTopic).contains("WRITE"), "the gateway never writes policies");
        String policyGroup = props.get("MP_MESSAGING_INCOMING_MEMBRANE_POLICIES_GROUP_ID");
        assertTrue(ops.keySet().stream().anyMatch(k -> k.startsWith("group:") && policyGroup.startsWith(k.substring(6)) && ops.get(k).contains("READ")),
                "an ACL covers the policy channel's group " + policyGroup);

        // ports and probes
        int port = Integer.parseInt(env.get("QUARKUS_HTTP_PORT"));
        assertEquals(port, c.getPorts().get(0).getContainerPort());
        assertEquals("http", c.getPorts().get(0).getName());
        assertEquals("/q/health/started", c.getStartupProbe().getHttpGet().getPath());
        assertEquals("/q/health/ready", c.getReadinessProbe().getHttpGet().getPath());
        assertEquals("/q/health/live", c.getLivenessProbe().getHttpGet().getPath());
        Service service = only(objects, Service.class);
        assertEquals("http", service.getSpec().getPorts().get(0).getTargetPort().getStrVal());
        assertEquals("ClusterIP", service.getSpec().getType(), "the admin API and playground stay inside the cluster");
        ServiceMonitor sm = only(objects, ServiceMonitor.class);
        assertEquals("http", sm.getSpec().getEndpoints().get(0).getPort());
        assertEquals("/q/metrics", sm.getSpec().getEndpoints().get(0).getPath());
        NetworkPolicy np = only(objects, NetworkPolicy.class);
        assertEquals(port, np.getSpec().getIngress().get(0).getPorts().get(0).getPort().getIntVal());
        assertTrue(env.get("MEMBRANE_KAFKA_BOOTSTRAP_SERVERS").endsWith(":" + np.getSpec().getEgress().get(0).getPorts().get(0).getPort().getIntVal()));

        // draining fits in the grace period: preStop + drain timeout + time to close
        long grace = deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
        int preStop = Integer.parseInt(c.getLifecycle().getPreStop().getExec().getCommand().get(1));
        long drain = Long.parseLong(env.get("MEMBRANE_GATEWAY_DRAIN_TIMEOUT_MS")) / 1000;
        assertTrue(grace >= preStop + drain + 10, "grace " + grace + " < preStop " + preStop + " + drain " + drain + " + 10");

        // mounted configuration exists and is what the application reads
        Set<String> generated = new java.util.HashSet<>();
        List<Path> kustomizations = new ArrayList<>(List.of(Path.of("k8s/base/kustomization.yaml")));
        for (Path r : resources(Path.of("k8s/base/kustomization.yaml"))) if (Files.isDirectory(r)) kustomizations.add(r.resolve("kustomization.yaml"));
        for (Path k : kustomizations) YAML.readTree(k.toFile()).path("configMapGenerator").forEach(g -> generated.add(g.get("name").asText()));
        deployment.getSpec().getTemplate().getSpec().getVolumes().stream().filter(v -> v.getConfigMap() != null)
                .forEach(v -> assertTrue(generated.contains(v.getConfigMap().getName()), v.getConfigMap().getName()));
        assertTrue(c.getEnvFrom().stream().allMatch(e -> generated.contains(e.getConfigMapRef().getName())));
        Map<String, String> mounts = new LinkedHashMap<>();
        c.getVolumeMounts().forEach(m -> mounts.put(m.getName(), m.getMountPath()));
        assertEquals(mounts.get("policy") + "/policy.yaml", env.get("MEMBRANE_POLICY_FILE"));
        assertEquals(mounts.get("catalog") + "/catalog.json", env.get("MEMBRANE_ADAPTERS_CATALOG"));
        assertTrue(env.get("MEMBRANE_KAFKA_CLIENT_PROPERTIES_FILE").startsWith(mounts.get("kafka-credentials") + "/"));
        assertEquals(mounts.get("admin-token") + "/token", env.get("MEMBRANE_ADMIN_TOKEN_FILE"));
        assertTrue(env.get("MEMBRANE_MODELS_SD15").startsWith(mounts.get("models") + "/"));
        assertTrue(env.get("MEMBRANE_MODELS_SD15_CLASSIFIER").startsWith(mounts.get("models") + "/"), "the output classifier lives on the models volume");
        assertTrue(env.get("MEMBRANE_ADAPTERS_DIR").startsWith(mounts.get("models") + "/"));
        DeviceChoice.parse(env.get("MEMBRANE_DEVICE"));
        // the shipped policy is valid against the shipped catalog
        PolicyDocument.parse("k8s/base/policy.yaml", Files.readAllBytes(Path.of("k8s/base/policy.yaml")),
                AdapterCatalog.load(Path.of("adapters/catalog.json")));
        // the init container prepares the model the gateway serves
        Container init = deployment.getSpec().getTemplate().getSpec().getInitContainers().get(0);
        assertEquals(List.of("model", "prepare", "--model", env.get("MEMBRANE_MODELS_SD15"), "--slots", env.get("MEMBRANE_GATEWAY_SLOTS")), init.getArgs());
    }

    @Test
    void gpuOverlayAsksForOneGpuAndCuda() throws Exception {
        JsonNode k = YAML.readTree(Path.of("k8s/overlays/gpu/kustomization.yaml").toFile());
        assertEquals("../../base", k.get("resources").get(0).asText());
        Path patch = Path.of("k8s/overlays/gpu", k.get("patches").get(0).get("path").asText());
        JsonNode doc = documents(patch).get(0);
        Deployment d = YAML.treeToValue(doc, Deployment.class);
        List<String> unknown = new ArrayList<>();
        unknownFields(d, "", unknown, new IdentityHashMap<>());
        assertTrue(unknown.isEmpty(), unknown.toString());
        var spec = d.getSpec().getTemplate().getSpec();
        Container c = spec.getContainers().get(0);
        assertEquals("membrane", c.getName(), "the patch must name the base's container to merge");
        assertEquals("1", c.getResources().getLimits().get("nvidia.com/gpu").getAmount());
        assertEquals("true", spec.getNodeSelector().get("nvidia.com/gpu.present"));
        assertEquals("nvidia.com/gpu", spec.getTolerations().get(0).getKey());
        String device = c.getEnv().stream().filter(e -> e.getName().equals("MEMBRANE_DEVICE")).findFirst().orElseThrow().getValue();
        assertEquals(DeviceChoice.CUDA, DeviceChoice.parse(device));
    }
}
