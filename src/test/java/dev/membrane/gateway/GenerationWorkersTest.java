package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.gateway.outcome.ErrorCode;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.Received;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.policy.Policy;
import dev.membrane.policy.PolicyDecision;
import dev.membrane.policy.PolicyStore;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.catalog.AdapterCatalog;

/** A batch that cannot be generated ends FAILED for each of its requests, with a result and an audit record. */
class GenerationWorkersTest {
    private static final AdapterCatalog CATALOG = AdapterCatalog.load(Path.of("adapters/catalog.json"));

    @Test
    void aBatchThatThrowsEndsFailedForEveryRequest() throws Exception {
        ServedModel model = GatewayHarness.model();
        // more adapters than the prepared UNet's slots, forced past the intake's check
        var nudity = CATALOG.loadVerified("nudity");
        var decision = new PolicyDecision(new Policy("p", "1", "0".repeat(64), List.of(), StackingMode.LINEAR, false),
                java.util.Collections.nCopies(model.slots() + 1,
                        new PolicyDecision.ResolvedAdapter(CATALOG.get("nudity"), nudity, CATALOG.get("nudity").transport())), null);
        List<WorkItem> batch = List.of(item("f1", decision), item("f2", decision));
        GenerationWorkers workers = new GenerationWorkers(new Batcher(8, 0), Map.of("tiny", model), o -> { },
                new GatewayMetrics(new SimpleMeterRegistry()), dev.membrane.serving.BatchingMode.CONTINUOUS, 8);
        List<Outcome> out = workers.process(batch);
        assertEquals(2, out.size());
        OutputRecords records = new OutputRecords(new OutputRecords.Topics("in", "results", "audit", "dlq"),
                new OutputRecords.GatewayInfo("test", Map.of("tiny", model.info())));
        ObjectMapper json = new ObjectMapper();
        for (Outcome o : out) {
            assertEquals(Outcome.Status.FAILED, o.status());
            assertEquals(ErrorCode.GENERATION_FAILED, o.code());
            assertTrue(o.message().contains("slots"), o.message());
            assertTrue(o.images().isEmpty());
            var produced = records.records(o);
            assertEquals(2, produced.size(), "a result and an audit record, no dead letter: the input was valid");
            MessageSchemas.assertValid("result.schema.json", json.readTree(produced.get(0).value()));
            MessageSchemas.assertValid("audit.schema.json", json.readTree(produced.get(1).value()));
        }
    }

    /** Issue 13, defect 4: one request that cannot be generated used to fail every request of its batch. */
    @Test
    void aRequestThatCannotBeGeneratedFailsAloneAndTheRestOfItsBatchCompletes() throws Exception {
        ServedModel model = GatewayHarness.model();
        var nudity = CATALOG.loadVerified("nudity");
        var policy = new Policy("p", "1", "0".repeat(64), List.of(), StackingMode.LINEAR, false);
        var tooMany = new PolicyDecision(policy, java.util.Collections.nCopies(model.slots() + 1,
                new PolicyDecision.ResolvedAdapter(CATALOG.get("nudity"), nudity, CATALOG.get("nudity").transport())), null);
        var fine = new PolicyDecision(policy, List.of(new PolicyDecision.ResolvedAdapter(CATALOG.get("nudity"), nudity,
                CATALOG.get("nudity").transport())), null);
        GenerationWorkers workers = new GenerationWorkers(new Batcher(8, 0), Map.of("tiny", model), o -> { },
                new GatewayMetrics(new SimpleMeterRegistry()), dev.membrane.serving.BatchingMode.CONTINUOUS, 8);
        List<Outcome> out = workers.process(List.of(item("ok1", fine), item("bad", tooMany), item("ok2", fine)));
        Map<String, Outcome> byId = new java.util.HashMap<>();
        out.forEach(o -> byId.put(o.requestId(), o));
        assertEquals(Outcome.Status.FAILED, byId.get("bad").status());
        assertTrue(byId.get("bad").message().contains("slots"), byId.get("bad").message());
        assertEquals(Outcome.Status.COMPLETED, byId.get("ok1").status());
        assertEquals(Outcome.Status.COMPLETED, byId.get("ok2").status());
        assertEquals(2, byId.get("ok1").timings().batchRequests(), "the two valid requests still share their batch");
    }

    /** A request split across batches by the memory budget gives the images it gives whole. */
    @Test
    void aSplitRequestsImagesEqualTheWholeRequests() throws Exception {
        ServedModel model = GatewayHarness.model();
        var nudity = CATALOG.loadVerified("nudity");
        var d = new PolicyDecision(new Policy("p", "1", "0".repeat(64), List.of(), StackingMode.LINEAR, false),
                List.of(new PolicyDecision.ResolvedAdapter(CATALOG.get("nudity"), nudity, CATALOG.get("nudity").transport())), null);
        var req = new GenerationRequestMessage("s", "t", "a", "a photo of a cat", "", 64, 64, 3, 7.5, 11, true, "ddim", 3, "tiny");
        var in = new Received("in", 0, 0, 0, 1, null, null, System.currentTimeMillis());
        GenerationWorkers workers = new GenerationWorkers(new Batcher(8, 0), Map.of("tiny", model), o -> { },
                new GatewayMetrics(new SimpleMeterRegistry()), dev.membrane.serving.BatchingMode.CONTINUOUS, 8);
        Outcome whole = workers.process(List.of(new WorkItem(in, req, d, 3))).get(0);
        List<WorkItem> parts = new WorkItem(in, req, d, 2).parts();
        assertEquals(2, parts.size());
        assertTrue(workers.process(List.of(parts.get(1))).isEmpty(), "not done after one part");
        List<Outcome> done = workers.process(List.of(parts.get(0)));
        assertEquals(1, done.size());
        assertEquals(Outcome.Status.COMPLETED, done.get(0).status());
        assertEquals(whole.images().stream().map(i -> i.sha256()).toList(), done.get(0).images().stream().map(i -> i.sha256()).toList());
    }

    @Test
    void officialStackingOfMismatchedAdaptersIsRefusedWhenThePolicyLoads(@TempDir Path dir) throws Exception {
        Path adapters = dir.resolve("a");
        Files.createDirectories(adapters);
        for (String f : List.of("nudity.safetensors", "snoopy.safetensors", "mickey-mouse.safetensors", "pikachu.safetensors", "van-gogh.safetensors")) {
            Files.copy(Path.of("adapters", f), adapters.resolve(f));
        }
        // a rank-2 closed-form adapter next to the rank-1 ones
        var folder = dev.membrane.diffusion.ModelFolder.open(dev.membrane.testing.TinyModel.dir());
        try (var p = dev.membrane.diffusion.StableDiffusionPipeline.open(folder, folder.unet(), dev.membrane.testing.TinyModel.runtime())) {
            var d = dev.membrane.spm.ClosedFormDerivation.derive(p.promptEncoder(), folder.unet(),
                    new dev.membrane.spm.ClosedFormDerivation.Spec("pikachu", "", List.of(), 0.5, 2));
            String sha = dev.membrane.spm.SpmFile.write(adapters.resolve("pikachu2.safetensors"), List.of("pikachu"), d.sites(), d.modules());
            String catalog = Files.readString(Path.of("adapters/catalog.json")).replace("\"adapters\": [",
                    "\"adapters\": [{\"id\": \"pikachu2\", \"category\": \"copyright\", \"prompts\": [\"pikachu\"], \"file\": \"pikachu2.safetensors\", \"sha256\": \"" + sha + "\"},");
            Files.writeString(adapters.resolve("catalog.json"), catalog);
        }
        Path policy = dir.resolve("p.yaml");
        Files.writeString(policy, "version: \"1\"\ndefaultPolicy: mixed\npolicies:\n  mixed: {stacking: official, concepts: [{id: nudity}, {id: pikachu2}]}\n"
                + "  linear: {stacking: linear, concepts: [{id: nudity}, {id: pikachu2}]}\ntenants: {t: {policy: linear}}\n");
        PolicyStore store = PolicyStore.open(policy, AdapterCatalog.load(adapters.resolve("catalog.json")));
        PolicyDecision refused = store.decide("x", "y");
        assertTrue(refused.refused(), "official stacking of rank 1 and rank 2 must be refused");
        assertTrue(refused.refusal().contains("pikachu2"), refused.refusal());
        assertTrue(!store.decide("t", "y").refused(), "linear stacking of the same adapters is fine");
    }

    private static WorkItem item(String id, PolicyDecision d) {
        var req = new GenerationRequestMessage(id, "t", "a", "a photo of a cat", "", 64, 64, 3, 7.5, 1, true, "ddim", 1, "tiny");
        return new WorkItem(new Received("in", 0, 0, 0, 1, null, null, System.currentTimeMillis()), req, d, 8);
    }

}
