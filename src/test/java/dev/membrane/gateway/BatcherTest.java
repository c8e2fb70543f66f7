package dev.membrane.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.gateway.outcome.Received;

class BatcherTest {
    private static WorkItem item(String id, int width, int images, long receivedAt) {
        // guidance differs per request: it is per image in a batch, not part of the key
        var req = new GenerationRequestMessage(id, "", "", "p", "", width, 64, 4, 1.0 + id.hashCode() % 7, 1, true, "ddim", images, "tiny");
        return new WorkItem(new Received("t", 0, 0, 0, 1, null, null, receivedAt), req, null, 8);
    }

    @Test
    void groupsByKeyUpToMaxImagesInArrivalOrder() throws Exception {
        Batcher b = new Batcher(4, 0);
        long now = System.currentTimeMillis();
        b.add(item("a", 64, 1, now));
        b.add(item("b", 128, 1, now));
        b.add(item("c", 64, 2, now));
        b.add(item("d", 64, 2, now));
        List<WorkItem> first = b.take();
        assertEquals(List.of("a", "c"), first.stream().map(w -> w.request().requestId()).toList(), "d would exceed 4 images");
        assertEquals(List.of("b"), b.take().stream().map(w -> w.request().requestId()).toList());
        assertEquals(List.of("d"), b.take().stream().map(w -> w.request().requestId()).toList());
    }

    @Test
    void waitsForTheBatchToFillUpToMaxWait() throws Exception {
        Batcher b = new Batcher(2, 2_000);
        b.add(item("a", 64, 1, System.currentTimeMillis()));
        Thread late = new Thread(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException ignored) {
                return;
            }
            b.add(item("b", 64, 1, System.currentTimeMillis()));
        });
        late.start();
        long t0 = System.currentTimeMillis();
        List<WorkItem> batch = b.take();
        long waited = System.currentTimeMillis() - t0;
        assertEquals(Set.of("a", "b"), Set.copyOf(batch.stream().map(w -> w.request().requestId()).toList()));
        assertTrue(waited < 1_500, "a full batch goes at once, not at the deadline: " + waited);
        b.add(item("c", 64, 1, System.currentTimeMillis() - 1_900));
        long t1 = System.currentTimeMillis();
        assertEquals(1, b.take().size());
        assertTrue(System.currentTimeMillis() - t1 < 1_000, "a lone request goes when its wait is up");
    }

    /** The memory budget: a batch never holds more images than any of its members may share. */
    @Test
    void noBatchExceedsItsMembersBudgetedImages() throws Exception {
        Batcher b = new Batcher(8, 0);
        for (String id : List.of("a", "b", "c")) {
            var r = new GenerationRequestMessage(id, "t", "a", "p", "", 64, 64, 4, 7.5, 1, true, "ddim", 1, "tiny");
            b.add(new WorkItem(new Received("t", 0, 0, 0, 1, null, null, System.currentTimeMillis()), r, null, 2));
        }
        assertEquals(2, b.take().size());
        assertEquals(1, b.take().size());
    }
}
