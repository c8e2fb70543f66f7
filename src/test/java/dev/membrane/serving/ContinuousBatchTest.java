package dev.membrane.serving;

import static dev.membrane.serving.ServingFixture.adapter;
import static dev.membrane.serving.ServingFixture.stack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.RandomSpm;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.transport.Transport;
import dev.membrane.testing.TinyModel;

/**
 * Requests sharing a {@link DenoisingBatch}, joining at different steps, with different prompts, seeds, guidance,
 * schedulers, step counts and adapter stacks: each must come out as it does generated alone by the existing
 * {@code AdapterPipeline}.
 */
public class ContinuousBatchTest {
    @TempDir
    static Path dir;
    private static ServingFixture model;
    private static SpmFile fox;
    private static SpmFile castle;
    private static SpmFile officialA;
    private static SpmFile officialB;

    @BeforeAll
    static void open() {
        model = new ServingFixture(TinyModel.dir(), dir, TinyModel.runtime(), 4);
        List<AdapterSite> sites = model.adapters.layout().adapterSites();
        fox = RandomSpm.create(dir.resolve("fox.safetensors"), sites, 1, 1f, 1, 2, "a red fox");
        castle = RandomSpm.create(dir.resolve("castle.safetensors"), sites, 2, 1f, 2, 2, "castle");
        officialA = RandomSpm.create(dir.resolve("oa.safetensors"), sites, 2, 2f, 3, 2, "ocean");
        officialB = RandomSpm.create(dir.resolve("ob.safetensors"), sites, 2, 2f, 4, 2, "red castle");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Two guided PNDM images with a facilitated adapter. */
    private static RequestSpec foxes() {
        return RequestSpec.builder("a").image(new ImageSpec("a red fox in the snow", "blurry", 11))
                .image(new ImageSpec("a fox at night", "", 12)).size(64, 64).steps(12).scheduler(SchedulerKind.PNDM)
                .guidanceScale(7.5).stack(stack(StackingMode.LINEAR, adapter(fox, Transport.facilitated(1.0)))).build();
    }

    /** One unguided DDIM image with two fixed adapters. */
    private static RequestSpec castleUnguided() {
        return RequestSpec.builder("b").image(new ImageSpec("a castle on a hill", "", 21)).size(64, 64).steps(8)
                .scheduler(SchedulerKind.DDIM).guidanceScale(1.0)
                .stack(stack(StackingMode.LINEAR, adapter(fox, Transport.fixed(1.5)), adapter(castle, Transport.fixed(0.8)))).build();
    }

    /** One guided Euler image without adapters. */
    private static RequestSpec oceanEuler() {
        return RequestSpec.builder("c").image(new ImageSpec("an ocean at dawn", "ugly", 31)).size(64, 64).steps(10)
                .scheduler(SchedulerKind.EULER).guidanceScale(5.0).build();
    }

    /** An unguided and a guided image in one request, official stacking of two adapters. */
    private static RequestSpec mixedOfficial() {
        return RequestSpec.builder("d").image(new ImageSpec("a castle", "", 41, 1.0)).image(new ImageSpec("a red castle by the ocean", "dark", 42))
                .size(64, 64).steps(6).scheduler(SchedulerKind.DDIM).guidanceScale(6.0)
                .stack(stack(StackingMode.OFFICIAL, adapter(officialA, Transport.fixed(1.2)), adapter(officialB, Transport.facilitated(2.0)))).build();
    }

    /** Runs the batch, admitting each request at its step; the outcomes and the step each left at. */
    private static Map<String, FinishedRequest> run(DenoisingBatch batch, Map<PreparedRequest, Integer> joinAt, Map<String, Integer> leftAt) {
        Map<String, FinishedRequest> out = new HashMap<>();
        Map<PreparedRequest, Integer> pending = new LinkedHashMap<>(joinAt);
        for (int step = 0; !pending.isEmpty() || !batch.isEmpty(); step++) {
            for (var it = pending.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (e.getValue() > step) continue;
                assertTrue(batch.canAdmit(e.getKey()), e.getKey().id() + " at step " + step);
                batch.admit(e.getKey());
                it.remove();
            }
            for (FinishedRequest f : batch.step()) {
                out.put(f.id(), f);
                leftAt.put(f.id(), step);
            }
            assertTrue(step < 100, "the batch does not finish");
        }
        return out;
    }

    @Test
    void requestsJoiningAtDifferentStepsEqualEachAlone() throws Exception {
        List<RequestSpec> specs = List.of(foxes(), castleUnguided(), oceanEuler(), mixedOfficial());
        int[] joins = {0, 3, 5, 5};
        Map<PreparedRequest, Integer> joinAt = new LinkedHashMap<>();
        for (int i = 0; i < specs.size(); i++) joinAt.put(PreparedRequest.prepare(model.adapters, specs.get(i)), joins[i]);
        List<Integer> rows = joinAt.keySet().stream().map(PreparedRequest::rows).toList();
        assertEquals(List.of(4, 1, 2, 3), rows, "2 rows per guided image, 1 per unguided");

        Map<String, Integer> leftAt = new HashMap<>();
        Map<String, FinishedRequest> outcomes;
        try (DenoisingBatch batch = new DenoisingBatch(model.adapters, BatchingMode.CONTINUOUS, 16)) {
            assertEquals(BatchingMode.CONTINUOUS, batch.effectiveMode().mode());
            assertFalse(batch.effectiveMode().fellBack());
            outcomes = run(batch, joinAt, leftAt);
            // joins at 0, 3, 5 (two), leaves after 10 (two: b and d), 12 (a): built before steps 0, 3, 5, 11, 13
            assertEquals(5, batch.feedBuilds(), "feeds are rebuilt when membership changes, not every step");
        }
        // each leaves right after its own last call: PNDM makes steps + 1 calls
        int[] calls = {13, 8, 10, 6};
        for (int i = 0; i < specs.size(); i++) {
            RequestSpec spec = specs.get(i);
            assertEquals(joins[i] + calls[i] - 1, leftAt.get(spec.id()), spec.id() + " left late");
            RequestTimings t = ((FinishedRequest.Completed) outcomes.get(spec.id())).timings();
            assertEquals(calls[i], t.unetCallMs().size());
            model.assertEqualsAlone(spec, outcomes.get(spec.id()));
        }
        List<Integer> seenByA = ((FinishedRequest.Completed) outcomes.get("a")).timings().batchRows();
        assertEquals(4, seenByA.get(0));
        assertEquals(10, seenByA.stream().mapToInt(Integer::intValue).max().orElseThrow(), "all four shared calls");
    }

    @Test
    void staticBatchRunsToItsEndBeforeTheNextForms() throws Exception {
        RequestSpec e = RequestSpec.builder("e").image(new ImageSpec("a red fox", "", 51)).size(64, 64).steps(7)
                .scheduler(SchedulerKind.DDIM).guidanceScale(7.5).stack(stack(StackingMode.LINEAR, adapter(fox, Transport.facilitated(1.0)))).build();
        RequestSpec f = RequestSpec.builder("f").image(new ImageSpec("a castle", "", 52)).image(new ImageSpec("a hill", "grey", 53, 3.0))
                .size(64, 64).steps(7).scheduler(SchedulerKind.DDIM).guidanceScale(1.0)
                .stack(stack(StackingMode.LINEAR, adapter(castle, Transport.fixed(1.0)))).build();
        RequestSpec g = RequestSpec.builder("g").image(new ImageSpec("an ocean", "", 54)).size(64, 64).steps(7)
                .scheduler(SchedulerKind.DDIM).guidanceScale(7.5).build();
        RequestSpec otherSteps = RequestSpec.builder("h").image(new ImageSpec("an ocean", "", 55)).size(64, 64).steps(9)
                .scheduler(SchedulerKind.DDIM).build();
        RequestSpec otherScheduler = RequestSpec.builder("i").image(new ImageSpec("an ocean", "", 55)).size(64, 64).steps(7)
                .scheduler(SchedulerKind.PNDM).build();
        try (DenoisingBatch batch = new DenoisingBatch(model.adapters, BatchingMode.STATIC, 16)) {
            PreparedRequest pe = PreparedRequest.prepare(model.adapters, e);
            PreparedRequest pf = PreparedRequest.prepare(model.adapters, f);
            PreparedRequest pg = PreparedRequest.prepare(model.adapters, g);
            batch.admit(pe);
            assertFalse(batch.canAdmit(PreparedRequest.prepare(model.adapters, otherSteps)), "static: same steps only");
            assertFalse(batch.canAdmit(PreparedRequest.prepare(model.adapters, otherScheduler)), "static: same scheduler only");
            batch.admit(pf);
            Map<String, FinishedRequest> outcomes = new HashMap<>();
            assertTrue(batch.step().isEmpty());
            assertFalse(batch.canAdmit(pg), "static: nobody joins a started batch");
            int steps = 1;
            while (!batch.isEmpty()) {
                batch.step().forEach(o -> outcomes.put(o.id(), o));
                steps++;
            }
            assertEquals(7, steps);
            assertTrue(batch.canAdmit(pg), "the next batch forms once the last one is done");
            batch.admit(pg);
            while (!batch.isEmpty()) batch.step().forEach(o -> outcomes.put(o.id(), o));
            model.assertEqualsAlone(e, outcomes.get("e"));
            model.assertEqualsAlone(f, outcomes.get("f"));
            model.assertEqualsAlone(g, outcomes.get("g"));
        }
    }

    @Test
    void admissionRespectsSizeRowsAndSingleUse() {
        try (DenoisingBatch batch = new DenoisingBatch(model.adapters, BatchingMode.CONTINUOUS, 5)) {
            PreparedRequest a = PreparedRequest.prepare(model.adapters, foxes());
            PreparedRequest big = PreparedRequest.prepare(model.adapters, RequestSpec.builder("big").size(64, 64).steps(2)
                    .images(List.of(new ImageSpec("x", "", 1), new ImageSpec("y", "", 2), new ImageSpec("z", "", 3))).build());
            assertFalse(batch.fits(big), "6 rows never fit in 5");
            assertFalse(batch.canAdmit(big));
            batch.admit(a);
            assertEquals(4, batch.activeRows());
            assertFalse(batch.canAdmit(PreparedRequest.prepare(model.adapters, oceanEuler())), "2 more rows do not fit");
            assertTrue(batch.canAdmit(PreparedRequest.prepare(model.adapters, castleUnguided())), "1 more row fits");
            PreparedRequest larger = PreparedRequest.prepare(model.adapters, RequestSpec.builder("l").image(new ImageSpec("x", "", 1))
                    .size(128, 64).steps(2).guidanceScale(1.0).build());
            assertFalse(batch.canAdmit(larger), "latents of one size share a call");
            assertFalse(batch.canAdmit(a), "a request joins once");
            assertThrows(IllegalStateException.class, () -> batch.admit(larger));
        }
    }

    /** Item 5: what is wrong with one request fails its preparation, and the others' batch runs on unaffected. */
    @Test
    void aBadRequestFailsAloneAndTheBatchRunsOn() throws Exception {
        List<AdapterSite> sites = model.adapters.layout().adapterSites();
        SpmFile tooWide = RandomSpm.create(dir.resolve("wide.safetensors"), sites, 5, 1f, 5, 2, "wide");
        List<AdapterSite> otherShapes = sites.stream().map(s -> new AdapterSite(s.key(), s.module(), s.kind(), s.nodeName(),
                s.weightName(), s.in() + 1, s.out())).toList();
        SpmFile wrongShape = RandomSpm.create(dir.resolve("shape.safetensors"), otherShapes, 1, 1f, 6, 2, "shape");
        List<RequestSpec> bad = List.of(
                RequestSpec.builder("rank").image(new ImageSpec("a fox", "", 1)).size(64, 64).steps(4)
                        .stack(stack(StackingMode.LINEAR, adapter(tooWide, Transport.fixed(1.0)))).build(),
                RequestSpec.builder("stack").image(new ImageSpec("a fox", "", 1)).size(64, 64).steps(4)
                        .stack(stack(StackingMode.LINEAR, adapter(fox, Transport.fixed(1.0)), adapter(castle, Transport.fixed(1.0)),
                                adapter(officialA, Transport.fixed(1.0)))).build(),
                RequestSpec.builder("official").image(new ImageSpec("a fox", "", 1)).size(64, 64).steps(4)
                        .stack(stack(StackingMode.OFFICIAL, adapter(fox, Transport.fixed(1.0)), adapter(castle, Transport.fixed(1.0)))).build(),
                RequestSpec.builder("shape").image(new ImageSpec("a fox", "", 1)).size(64, 64).steps(4)
                        .stack(stack(StackingMode.LINEAR, adapter(wrongShape, Transport.fixed(1.0)))).build());
        RequestSpec a = foxes();
        RequestSpec c = oceanEuler();
        Map<String, FinishedRequest> outcomes = new HashMap<>();
        try (DenoisingBatch batch = new DenoisingBatch(model.adapters, BatchingMode.CONTINUOUS, 16)) {
            batch.admit(PreparedRequest.prepare(model.adapters, a));
            List<String> failures = new ArrayList<>();
            for (int step = 0; !batch.isEmpty(); step++) {
                if (step == 2) {
                    for (RequestSpec b : bad) {
                        MembraneException ex = assertThrows(MembraneException.class, () -> PreparedRequest.prepare(model.adapters, b), b.id());
                        failures.add(ex.getMessage());
                    }
                    batch.admit(PreparedRequest.prepare(model.adapters, c));
                }
                batch.step().forEach(o -> outcomes.put(o.id(), o));
            }
            assertTrue(failures.get(0).contains("slots"), failures.get(0));
            assertTrue(failures.get(1).contains("slots"), failures.get(1));
            assertTrue(failures.get(2).contains("official stacking"), failures.get(2));
            assertTrue(failures.get(3).contains("the UNet's layer"), failures.get(3));
        }
        assertEquals(2, outcomes.size());
        model.assertEqualsAlone(a, outcomes.get("a"));
        model.assertEqualsAlone(c, outcomes.get("c"));
    }
}
