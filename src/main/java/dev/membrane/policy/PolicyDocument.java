package dev.membrane.policy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import dev.membrane.MembraneException;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.spm.transport.Transport;

/**
 * A parsed policy file (YAML):
 * <pre>{@code
 * version: "2026-11-24.1"
 * defaultPolicy: standard          # for tenants and apps not listed (omit to refuse them)
 * policies:
 *   standard:
 *     stacking: linear             # linear (ΔW ∝ γ) | official (ΔW ∝ γ², as the official code)
 *     storePrompts: false
 *     concepts:
 *       - id: nudity               # an adapter catalog id
 *         transport: {kind: fixed, gamma: 2.0}
 *       - id: van-gogh
 *         transport: {kind: facilitated, factor: 2.0, minimum: 0.3}
 *       - id: snoopy               # no transport: the catalog's default
 *     promptCheck:                 # optional, see PromptCheck: REJECTED PROMPT_BLOCKED before any generation
 *       terms: [gore]
 *       patterns: ["n[u4]de"]
 *     outputCheck:                 # optional, see OutputCheck: the served model's classifier on every image
 *       classifier: nsfwjs-mobilenet_v2
 *       rules:
 *         Porn: {threshold: 0.6, action: block}
 * tenants:
 *   acme:
 *     policy: standard
 *     apps:
 *       kids-app: strict
 * }</pre>
 * Requests name a tenant and an app; the app's policy wins over the tenant's, which wins over the default.
 * A request can never choose its own policy. Immutable.
 */
public final class PolicyDocument {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final String version;
    private final String sha256;
    private final Map<String, Policy> policies;
    private final String defaultPolicy;
    private final Map<String, String> tenantPolicies;
    private final Map<String, Map<String, String>> appPolicies;

    private PolicyDocument(String version, String sha256, Map<String, Policy> policies, String defaultPolicy,
                           Map<String, String> tenantPolicies, Map<String, Map<String, String>> appPolicies) {
        this.version = version;
        this.sha256 = sha256;
        this.policies = policies;
        this.defaultPolicy = defaultPolicy;
        this.tenantPolicies = tenantPolicies;
        this.appPolicies = appPolicies;
    }

    /** Parses and checks a document; concept ids must exist in the catalog. */
    public static PolicyDocument parse(String source, byte[] bytes, AdapterCatalog catalog) {
        JsonNode root;
        try {
            root = YAML.readTree(bytes);
        } catch (IOException e) {
            throw new MembraneException(source + ": not valid YAML (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (root == null || !root.isObject()) throw new MembraneException(source + ": a policy document must be a mapping");
        String version = root.path("version").asText("");
        if (version.isBlank()) throw new MembraneException(source + ": 'version' is required");
        String sha = dev.membrane.Hashes.sha256(bytes);
        Map<String, Policy> policies = new LinkedHashMap<>();
        JsonNode ps = root.path("policies");
        if (!ps.isObject() || ps.isEmpty()) throw new MembraneException(source + ": 'policies' must map policy ids to policies");
        for (Iterator<Map.Entry<String, JsonNode>> it = ps.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            policies.put(e.getKey(), policy(source, e.getKey(), e.getValue(), version, sha, catalog));
        }
        String def = root.hasNonNull("defaultPolicy") ? root.get("defaultPolicy").asText() : null;
        if (def != null && !policies.containsKey(def)) throw new MembraneException(source + ": defaultPolicy '" + def + "' is not defined");
        Map<String, String> tenants = new LinkedHashMap<>();
        Map<String, Map<String, String>> apps = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("tenants").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> t = it.next();
            String tp = t.getValue().path("policy").asText(null);
            if (tp != null) tenants.put(t.getKey(), known(source, policies, tp, "tenant " + t.getKey()));
            Map<String, String> a = new LinkedHashMap<>();
            t.getValue().path("apps").fields().forEachRemaining(app ->
                    a.put(app.getKey(), known(source, policies, app.getValue().asText(), "app " + t.getKey() + "/" + app.getKey())));
            apps.put(t.getKey(), a);
        }
        return new PolicyDocument(version, sha, policies, def, tenants, apps);
    }

    private static String known(String source, Map<String, Policy> policies, String id, String who) {
        if (!policies.containsKey(id)) throw new MembraneException(source + ": " + who + " names undefined policy '" + id + "'");
        return id;
    }

    private static Policy policy(String source, String id, JsonNode n, String version, String sha, AdapterCatalog catalog) {
        String where = source + ": policy '" + id + "'";
        StackingMode stacking = StackingMode.parse(n.path("stacking").asText("linear"));
        List<ConceptRule> rules = new ArrayList<>();
        for (JsonNode c : n.path("concepts")) {
            String conceptId = c.path("id").asText("");
            if (conceptId.isBlank()) throw new MembraneException(where + ": a concept lacks 'id'");
            if (!catalog.entries().containsKey(conceptId)) {
                throw new MembraneException(where + ": concept '" + conceptId + "' is not in the adapter catalog " + catalog.source());
            }
            Transport t = c.has("transport") ? Transport.fromJson(where, c.get("transport")) : catalog.get(conceptId).transport();
            rules.add(new ConceptRule(conceptId, t));
        }
        Keys.only(where, n, "stacking", "storePrompts", "concepts", "promptCheck", "outputCheck");
        // a check written but empty must not read as "no check"
        if (n.has("outputCheck") && n.get("outputCheck").isNull()) throw new MembraneException(where + ": outputCheck is empty");
        if (n.has("promptCheck") && n.get("promptCheck").isNull()) throw new MembraneException(where + ": promptCheck is empty");
        OutputCheck output = n.has("outputCheck") ? OutputCheck.fromJson(where, n.get("outputCheck")) : null;
        return new Policy(id, version, sha, List.copyOf(rules), stacking, n.path("storePrompts").asBoolean(false),
                PromptCheck.fromJson(where, n.get("promptCheck")), output);
    }

    /** The policy for a tenant and app, or null when none applies. */
    public Policy policyFor(String tenant, String app) {
        Map<String, String> apps = appPolicies.get(tenant);
        if (apps != null && app != null && apps.containsKey(app)) return policies.get(apps.get(app));
        if (tenant != null && tenantPolicies.containsKey(tenant)) return policies.get(tenantPolicies.get(tenant));
        return defaultPolicy == null ? null : policies.get(defaultPolicy);
    }

    public String version() {
        return version;
    }

    public String sha256() {
        return sha256;
    }

    public Map<String, Policy> policies() {
        return policies;
    }

    /** The policy for tenants and apps not named, or null (they are refused). */
    public String defaultPolicy() {
        return defaultPolicy;
    }

    /** Each named tenant's own policy id (tenants whose apps alone are named are absent). */
    public Map<String, String> tenantPolicies() {
        return java.util.Collections.unmodifiableMap(tenantPolicies);
    }

    /** Per tenant, each named app's policy id. */
    public Map<String, Map<String, String>> appPolicies() {
        return java.util.Collections.unmodifiableMap(appPolicies);
    }
}
