package dev.membrane.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.UNetModel;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.onnx.reference.ModelIoTypes;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferencePreset;
import dev.membrane.testing.TinyModel;

/** A UNet exported with a scalar timestep cannot give rows their own timesteps: continuous batching falls back. */
public class ScalarTimestepFallbackTest {
    @TempDir
    static Path dir;
    private static ServingFixture scalar;

    @BeforeAll
    static void open() {
        Path model = dir.resolve("scalar-timestep");
        ReferenceModelBuilder.build(model, ReferenceModelBuilder.Options.of(ReferencePreset.TINY)
                .withIo(new ModelIoTypes(false, ModelIoTypes.TimestepInput.FLOAT_SCALAR, false)));
        scalar = new ServingFixture(model, dir, TinyModel.runtime(), 2);
    }

    @AfterAll
    static void close() {
        scalar.close();
    }

    @Test
    void detectsWhetherTheTimestepHasABatchDimension() {
        assertFalse(scalar.prepared.unet().perRowTimesteps(), "float scalar timestep");
        try (UNetModel batchTimestep = new UNetModel(TinyModel.runtime().open(dev.membrane.diffusion.ModelFolder.open(TinyModel.dir()).unet(), "UNet"))) {
            assertTrue(batchTimestep.perRowTimesteps(), "float timestep [batch]");
        }
    }

    @Test
    void rowsWithDifferentTimestepsAreRefusedOnAScalarTimestep() {
        UNetModel unet = scalar.prepared.unet();
        int d = (int) unet.contextWidth();
        TextEmbeddings context = new TextEmbeddings(new float[2 * 77 * d], 2, 77, d);
        assertThrows(IllegalArgumentException.class, () -> unet.predict(new float[2 * 4 * 8 * 8], new long[] {2, 4, 8, 8},
                new double[] {901, 801}, context, Map.of()));
    }

    @Test
    void continuousFallsBackToStaticAndStillEqualsEachAlone() throws Exception {
        RequestSpec a = RequestSpec.builder("a").image(new ImageSpec("a red fox", "blurry", 61)).size(64, 64).steps(6)
                .scheduler(SchedulerKind.PNDM).guidanceScale(7.5).build();
        RequestSpec b = RequestSpec.builder("b").image(new ImageSpec("a castle", "", 62)).size(64, 64).steps(6)
                .scheduler(SchedulerKind.PNDM).guidanceScale(1.0).build();
        RequestSpec late = RequestSpec.builder("late").image(new ImageSpec("an ocean", "", 63)).size(64, 64).steps(6)
                .scheduler(SchedulerKind.PNDM).guidanceScale(4.0).build();
        Map<String, FinishedRequest> outcomes = new HashMap<>();
        try (DenoisingBatch batch = new DenoisingBatch(scalar.adapters, BatchingMode.CONTINUOUS, 16)) {
            EffectiveMode mode = batch.effectiveMode();
            assertEquals(BatchingMode.STATIC, mode.mode());
            assertTrue(mode.fellBack() && mode.reason().contains("timestep"), mode.reason());
            PreparedRequest pl = PreparedRequest.prepare(scalar.adapters, late);
            batch.admit(PreparedRequest.prepare(scalar.adapters, a));
            batch.admit(PreparedRequest.prepare(scalar.adapters, b));
            batch.step();
            assertFalse(batch.canAdmit(pl), "a started batch admits nobody when it runs static");
            while (!batch.isEmpty()) batch.step().forEach(o -> outcomes.put(o.id(), o));
            batch.admit(pl);
            while (!batch.isEmpty()) batch.step().forEach(o -> outcomes.put(o.id(), o));
        }
        for (RequestSpec s : List.of(a, b, late)) scalar.assertEqualsAlone(s, outcomes.get(s.id()));
    }
}
