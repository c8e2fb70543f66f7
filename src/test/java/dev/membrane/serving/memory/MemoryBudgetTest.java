package dev.membrane.serving.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default budget from injected machine values, and how requests fit a budget. */
class MemoryBudgetTest {
    private static final long GIB = 1L << 30;
    private static final long MB = 1L << 20;
    private static final MemoryModel SD15 = MemoryModelTest.SD15;

    @Test
    void defaultBudgetIsTheLimitLessHeapWeightsAndMargin() {
        long weights = 3_500 * MB;
        // a 16 GiB container on a 64 GiB host with a 4 GiB heap: the margin is 10 % of 16 GiB (more than 1 GiB)
        MachineMemory pod = new MachineMemory(OptionalLong.of(16 * GIB), 64 * GIB, 4 * GIB);
        assertEquals((16 * GIB - 4 * GIB - weights - (long) (0.10 * 16 * GIB)) / MB, MemoryModel.defaultBudgetMb(pod, weights));
        // no cgroup limit: physical RAM; a small machine keeps the 1 GiB minimum margin
        MachineMemory laptop = new MachineMemory(OptionalLong.empty(), 8 * GIB, 2 * GIB);
        assertEquals((8 * GIB - 2 * GIB - weights - GIB) / MB, MemoryModel.defaultBudgetMb(laptop, weights));
        // a cgroup limit above RAM is no limit at all
        MachineMemory loose = new MachineMemory(OptionalLong.of(128 * GIB), 24 * GIB, 6 * GIB);
        assertEquals(24 * GIB, loose.limitBytes());
        // nothing left is 0, not negative
        assertEquals(0, MemoryModel.defaultBudgetMb(new MachineMemory(OptionalLong.of(4 * GIB), 24 * GIB, 3 * GIB), weights));
    }

    @Test
    void cgroupLimitIsReadFromV2ThenV1(@TempDir Path root) throws Exception {
        assertEquals(OptionalLong.empty(), MachineMemory.detect(root, 24 * GIB, GIB).cgroupLimitBytes(), "no cgroup files");
        Files.createDirectories(root.resolve("memory"));
        Files.writeString(root.resolve("memory/memory.limit_in_bytes"), "9223372036854771712\n");
        assertEquals(OptionalLong.empty(), MachineMemory.detect(root, 24 * GIB, GIB).cgroupLimitBytes(), "v1's no-limit sentinel");
        Files.writeString(root.resolve("memory/memory.limit_in_bytes"), "8589934592\n");
        assertEquals(OptionalLong.of(8 * GIB), MachineMemory.detect(root, 24 * GIB, GIB).cgroupLimitBytes(), "v1 limit");
        Files.writeString(root.resolve("memory.max"), "max\n");
        assertEquals(OptionalLong.of(8 * GIB), MachineMemory.detect(root, 24 * GIB, GIB).cgroupLimitBytes(), "v2 'max' falls through to v1");
        Files.writeString(root.resolve("memory.max"), "17179869184\n");
        MachineMemory m = MachineMemory.detect(root, 24 * GIB, 5 * GIB);
        assertEquals(16 * GIB, m.limitBytes(), "v2 limit first");
        assertEquals(5 * GIB, m.maxHeapBytes());
    }

    @Test
    void largestGuidedRequestDoesNotFitOneBatchButSplits() {
        // 1024² x4 with guidance is 8 UNet rows; one guided image alone is past 32 GiB (first-level scores), so a
        // budget of one image's estimate (a large GPU, say) runs the four images one by one
        long oneImage = SD15.peakBytes(1024, 1024, 2, 1);
        assertTrue(oneImage > 32 * GIB);
        BatchFit big = SD15.fit(1024, 1024, 4, true, oneImage);
        assertEquals(new BatchFit(BatchFit.Verdict.SPLIT, 1, 4, oneImage, oneImage), big);
        assertEquals(BatchFit.Verdict.SPLIT, SD15.fit(1024, 1024, 4, true, SD15.peakBytes(1024, 1024, 8, 4) - 1).verdict());
    }

    @Test
    void aSizeThatNeverFitsIsOverBudget() {
        BatchFit over = SD15.fit(1024, 1024, 4, true, 12 * GIB);
        assertEquals(BatchFit.Verdict.OVER_BUDGET, over.verdict());
        assertFalse(over.fits());
        assertEquals(0, over.imagesPerBatch());
        assertEquals(0, over.batches());
        assertEquals(SD15.peakBytes(1024, 1024, 2, 1), over.peakBytes(), "the one-image estimate tells by how much");
    }

    @Test
    void splitsIntoTheLargestBatchesThatFit() {
        // exactly a two-image batch's estimate: 4 images go as 2 + 2; 3 images as 2 + 1
        long budget = SD15.peakBytes(512, 512, 4, 2);
        BatchFit four = SD15.fit(512, 512, 4, true, budget);
        assertEquals(new BatchFit(BatchFit.Verdict.SPLIT, 2, 2, budget, budget), four);
        assertEquals(2, SD15.fit(512, 512, 3, true, budget).batches());
        assertEquals(BatchFit.Verdict.ONE_BATCH, SD15.fit(512, 512, 2, true, budget).verdict());
        // without guidance each image is one row, so more fit
        assertTrue(SD15.fit(512, 512, 4, false, budget).imagesPerBatch() >= 2);
        assertEquals(BatchFit.Verdict.ONE_BATCH, SD15.fit(512, 512, 4, true, SD15.peakBytes(512, 512, 8, 4)).verdict());
    }
}
