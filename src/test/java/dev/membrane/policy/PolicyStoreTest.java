package dev.membrane.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.spm.transport.Transport;

class PolicyStoreTest {
    private static final AdapterCatalog CATALOG = AdapterCatalog.load(Path.of("adapters/catalog.json"));
    private static final String DOC = """
            version: "7"
            defaultPolicy: base
            policies:
              base:
                concepts: [{id: nudity}]
              strict:
                stacking: official
                storePrompts: true
                concepts:
                  - {id: nudity, transport: {kind: fixed, gamma: 3.0}}
                  - {id: snoopy, transport: {kind: facilitated, factor: 1.5, minimum: 0.4}}
            tenants:
              acme:
                policy: strict
                apps: {legacy: base}
            """;

    private static void write(Path f, String text, int second) throws Exception {
        Files.writeString(f, text);
        Files.setLastModifiedTime(f, FileTime.from(Instant.ofEpochSecond(1_700_000_000L + second)));
    }

    @Test
    void appBeatsTenantBeatsDefault(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        write(f, DOC, 0);
        PolicyStore store = PolicyStore.open(f, CATALOG);
        assertEquals("strict", store.decide("acme", "web").policy().id());
        assertEquals("base", store.decide("acme", "legacy").policy().id());
        assertEquals("base", store.decide("other", "web").policy().id());
        PolicyDecision strict = store.decide("acme", "web");
        assertEquals(StackingMode.OFFICIAL, strict.policy().stacking());
        assertTrue(strict.policy().storePrompts());
        assertEquals(Transport.fixed(3.0), strict.adapters().get(0).transport());
        assertEquals(Transport.facilitated(1.5).withMinimum(0.4), strict.adapters().get(1).transport());
        assertEquals("7", strict.policy().version());
        assertEquals(64, strict.policy().sha256().length());
        assertEquals(CATALOG.get("nudity").transport(), store.decide("x", "y").adapters().get(0).transport(), "catalog default");
    }

    @Test
    void noDefaultRefusesUnknownTenants(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        write(f, DOC.replace("defaultPolicy: base\n", ""), 0);
        PolicyDecision d = PolicyStore.open(f, CATALOG).decide("nobody", "x");
        assertTrue(d.refused());
        assertNull(d.policy());
    }

    @Test
    void hotReloadKeepsTheLastGoodDocumentOnABadEdit(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        write(f, DOC, 0);
        PolicyStore store = PolicyStore.open(f, CATALOG);
        write(f, DOC.replace("version: \"7\"", "version: \"8\""), 10);
        assertTrue(store.reloadIfChanged());
        assertEquals("8", store.document().version());
        write(f, "policies: [this is: not valid", 20);
        assertTrue(store.reloadIfChanged(), "a good document stays in force");
        assertEquals("8", store.document().version());
        assertNotNull(store.lastError());
        write(f, DOC.replace("{id: nudity}]", "{id: no-such-concept}]"), 30);
        store.reloadIfChanged();
        assertEquals("8", store.document().version());
        assertTrue(store.lastError().contains("no-such-concept"), store.lastError());
    }

    @Test
    void aPolicyWithABrokenAdapterIsRefusedWhole(@TempDir Path dir) throws Exception {
        Path adapters = dir.resolve("a");
        Files.createDirectories(adapters);
        Files.copy(Path.of("adapters/catalog.json"), adapters.resolve("catalog.json"));
        for (String id : new String[] {"nudity", "mickey-mouse", "pikachu", "van-gogh"}) {
            Files.copy(Path.of("adapters", id + ".safetensors"), adapters.resolve(id + ".safetensors"));
        }
        // snoopy.safetensors is missing
        Path f = dir.resolve("p.yaml");
        write(f, DOC, 0);
        PolicyStore store = PolicyStore.open(f, AdapterCatalog.load(adapters.resolve("catalog.json")));
        PolicyDecision strict = store.decide("acme", "web");
        assertTrue(strict.refused());
        assertTrue(strict.adapters().isEmpty());
        assertTrue(strict.refusal().contains("snoopy"), strict.refusal());
        assertFalse(store.decide("acme", "legacy").refused());
        assertFalse(store.allPoliciesServable());
    }

    @Test
    void aFirstLoadThatFailsIsAnError(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        write(f, "version: 1\npolicies: {p: {concepts: [{id: nudity, transport: {kind: fixed}}]}}\n", 0);
        MembraneException e = assertThrows(MembraneException.class, () -> PolicyStore.open(f, CATALOG));
        assertTrue(e.getMessage().contains("gamma"), e.getMessage());
    }

    @Test
    void demoPolicyGivesEveryoneEveryAdapter(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("demo.yaml");
        Files.writeString(f, DemoPolicy.yaml(CATALOG));
        PolicyDecision d = PolicyStore.open(f, CATALOG).decide("anyone", "any");
        assertEquals(5, d.adapters().size());
        assertEquals(Transport.Kind.FIXED, d.adapters().get(0).transport().kind());
        assertEquals("nsfw", d.adapters().get(0).entry().category());
        assertEquals(Transport.facilitated(2.0), d.adapters().get(4).transport());
    }

    /** The shapes demo: circles erased and blocked for kids-app, stripes for brand-app, by the embedded default's classifier. */
    @Test
    void shapesDemoPolicyChecksItsAppsWithTheConceptClassifier(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("demo.yaml");
        Files.writeString(f, DemoPolicy.shapesYaml(CATALOG));
        var card = dev.membrane.evaluation.classifier.ConceptOutputClassifier.write(Path.of("models/shapes/classifier.onnx"), dir.resolve("c"));
        assertEquals(DemoPolicy.OUTPUT_CLASSIFIER, card.id());
        PolicyStore store = PolicyStore.open(f, CATALOG, java.util.Map.of(card.id(), card));
        assertTrue(store.allPoliciesServable());
        PolicyDecision kids = store.decide("demo", "kids-app");
        assertEquals("shapes-circle", kids.adapters().get(0).entry().id());
        assertEquals("circle", kids.policy().outputCheck().rules().get(0).label());
        assertEquals("striped", store.decide("demo", "brand-app").policy().outputCheck().rules().get(0).label());
        assertNull(store.decide("demo", "other-app").policy().outputCheck());
    }

    @Test
    void aTopicDocumentWinsOverTheFileAndABrokenOneKeepsTheLastGood(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        write(f, DOC, 0);
        PolicyStore store = PolicyStore.open(f, CATALOG);
        assertEquals("file " + f, store.source());

        var applied = store.applyDocument("membrane.policies[platform]@0:0", DOC.replace("version: \"7\"", "version: \"8\"")
                .replace("policy: strict", "policy: base").getBytes());
        assertEquals("8", ((PolicyStore.TopicResult.Applied) applied).version());
        assertEquals("base", store.decide("acme", "web").policy().id());
        assertEquals("membrane.policies[platform]@0:0", store.source());
        assertNull(store.lastError());

        // unknown concept: validated like the file, refused, version 8 stays
        var invalid = store.applyDocument("membrane.policies[platform]@0:1", DOC.replace("id: snoopy", "id: no-such-concept").getBytes());
        assertTrue(((PolicyStore.TopicResult.Invalid) invalid).reason().contains("no-such-concept"), invalid.toString());
        assertEquals("8", store.document().version());
        assertTrue(store.lastError().startsWith("membrane.policies[platform]@0:1"), store.lastError());
        assertTrue(store.applyDocument("membrane.policies[platform]@0:2", "version: [".getBytes()) instanceof PolicyStore.TopicResult.Invalid);
        assertTrue(((PolicyStore.TopicResult.Invalid) store.applyDocument("membrane.policies[platform]@0:3", null)).reason().contains("tombstone"));
        assertEquals("8", store.document().version());

        // the file changes: no longer read once the topic is in force
        write(f, DOC.replace("version: \"7\"", "version: \"99\""), 5);
        assertTrue(store.reloadIfChanged());
        assertEquals("8", store.document().version());
        assertEquals("membrane.policies[platform]@0:0", store.source());
    }

    @Test
    void aTopicDocumentWithAMispinnedAdapterIsInForceButItsPolicyIsRefused(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        write(f, DOC, 0);
        Path catalogDir = dir.resolve("adapters");
        Files.createDirectories(catalogDir);
        for (String name : new String[] {"nudity.safetensors", "snoopy.safetensors"}) Files.copy(Path.of("adapters", name), catalogDir.resolve(name));
        Files.write(catalogDir.resolve("snoopy.safetensors"), new byte[] {1, 2, 3});
        AdapterCatalog tampered = AdapterCatalog.load(Path.of("adapters/catalog.json"), catalogDir);
        PolicyStore store = PolicyStore.open(f, tampered);
        assertTrue(store.applyDocument("t[k]@0:0", DOC.replace("version: \"7\"", "version: \"9\"").getBytes()) instanceof PolicyStore.TopicResult.Applied);
        assertTrue(store.decide("acme", "web").refused(), "fail closed: snoopy does not match its pin");
        assertFalse(store.decide("other", "web").refused());
    }
}
