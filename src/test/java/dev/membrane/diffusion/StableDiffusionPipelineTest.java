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

    @Test
    void imagesWithTheirOwnGuidanceInOneBatchEqualEachAlone() {
        ImageSpec strong = new ImageSpec("a photo of a cat", "", 31, 9.0);
        ImageSpec none = new ImageSpec("a painting of a dog", "", 32, 1.0);
        ImageSpec weak = new ImageSpec("a red car", "", 33, 3.0);
        GenerationResult together = pipeline.generate(new GenerationRequest(List.of(strong, none, weak), 64, 64, 5, 7.5, SchedulerKind.DDIM));
        GenerationResult strongAlone = pipeline.generate(new GenerationRequest(List.of(strong), 64, 64, 5, 7.5, SchedulerKind.DDIM));
        // alone, a scale of 1 runs without the unconditional half at all, as diffusers does
        GenerationResult noneAlone = pipeline.generate(new GenerationRequest(List.of(new ImageSpec("a painting of a dog", "", 32)),
                64, 64, 5, 1.0, SchedulerKind.DDIM));
        GenerationResult weakAlone = pipeline.generate(new GenerationRequest(List.of(weak), 64, 64, 5, 7.5, SchedulerKind.DDIM));
        assertTrue(PngPixels.maxAbsDiff(together.images().get(0).png(), strongAlone.images().get(0).png()) <= 2);
        assertTrue(PngPixels.maxAbsDiff(together.images().get(1).png(), noneAlone.images().get(0).png()) <= 2);
        assertTrue(PngPixels.maxAbsDiff(together.images().get(2).png(), weakAlone.images().get(0).png()) <= 2);
        GenerationResult defaultGuidance = pipeline.generate(new GenerationRequest(List.of(new ImageSpec("a red car", "", 33)),
                64, 64, 5, 7.5, SchedulerKind.DDIM));
        assertTrue(PngPixels.maxAbsDiff(weakAlone.images().get(0).png(), defaultGuidance.images().get(0).png()) > 0,
                "an image's own scale must be used");
    }
}
