package dev.membrane.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.testing.TinyModel;

class StableDiffusionPipelineTest {
    private static StableDiffusionPipeline pipeline;

    @BeforeAll
    static void open() {
        pipeline = StableDiffusionPipeline.open(TinyModel.dir(), TinyModel.runtime());
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    private static GenerationRequest request(SchedulerKind kind, ImageSpec... images) {
        return new GenerationRequest(List.of(images), 64, 64, 6, 7.5, kind);
    }

    @Test
    void sameSeedGivesIdenticalPngBytes() {
        ImageSpec spec = new ImageSpec("a photo of a cat", "", 42);
        byte[] a = pipeline.generate(request(SchedulerKind.PNDM, spec)).images().get(0).png();
        byte[] b = pipeline.generate(request(SchedulerKind.PNDM, spec)).images().get(0).png();
        assertArrayEquals(a, b);
        assertEquals((byte) 0x89, a[0]);
        assertEquals('P', a[1]);
        byte[] other = pipeline.generate(request(SchedulerKind.PNDM, new ImageSpec("a photo of a cat", "", 43))).images().get(0).png();
        assertFalse(Arrays.equals(a, other), "another seed must give another image");
    }

    @Test
    void batchedImagesEqualImagesRunAlone() {
        ImageSpec cat = new ImageSpec("a photo of a cat", "blurry", 1);
        ImageSpec dog = new ImageSpec("a painting of a dog", "", 2);
        GenerationResult both = pipeline.generate(request(SchedulerKind.DDIM, cat, dog));
        GenerationResult catAlone = pipeline.generate(request(SchedulerKind.DDIM, cat));
        GenerationResult dogAlone = pipeline.generate(request(SchedulerKind.DDIM, dog));
        assertEquals(2, both.images().size());
        // ONNX Runtime may pick other kernels for another batch size: compare pixels with a tolerance
        assertTrue(PngPixels.maxAbsDiff(both.images().get(0).png(), catAlone.images().get(0).png()) <= 2);
        assertTrue(PngPixels.maxAbsDiff(both.images().get(1).png(), dogAlone.images().get(0).png()) <= 2);
    }

    @Test
    void everySchedulerRunsItsCallCount() {
        for (SchedulerKind kind : SchedulerKind.values()) {
            GenerationResult r = pipeline.generate(request(kind, new ImageSpec("a red car", "", 7)));
            int expectedCalls = kind == SchedulerKind.PNDM ? 7 : 6;
            assertEquals(expectedCalls, r.timings().unetCallMs().size(), kind.name());
            assertEquals(64, PngPixels.decode(r.images().get(0).png()).getWidth());
        }
    }

    @Test
    void promptChangesTheImage() {
        byte[] a = pipeline.generate(request(SchedulerKind.EULER, new ImageSpec("a photo of a cat", "", 5))).images().get(0).png();
        byte[] b = pipeline.generate(request(SchedulerKind.EULER, new ImageSpec("mickey mouse", "", 5))).images().get(0).png();
        assertTrue(PngPixels.maxAbsDiff(a, b) > 0, "conditioning must reach the image");
    }
}
