package dev.membrane.gateway;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Dynamic batching: a worker takes the oldest waiting request and every other one with the same batch key, up to
 * {@code maxImages} images and no more than any member's memory budget allows ({@link WorkItem#maxImagesPerBatch}), waiting at most {@code maxWaitMs} from the oldest's arrival for the batch to fill.
 * Requests with different adapter stacks share a batch (per-sample adapter slots). Thread-safe.
 */
final class Batcher {
    private final int maxImages;
    private final long maxWaitMs;
    private final LinkedList<WorkItem> queue = new LinkedList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private boolean closed;

    private final java.util.function.Function<WorkItem, Object> keyOf;

    /** Batches by {@link WorkItem#batchKey()} (static batching: same size, steps and scheduler). */
    Batcher(int maxImages, long maxWaitMs) {
        this(maxImages, maxWaitMs, WorkItem::batchKey);
    }

    /** @param keyOf items with equal keys may share a batch */
    Batcher(int maxImages, long maxWaitMs, java.util.function.Function<WorkItem, Object> keyOf) {
        this.maxImages = maxImages;
        this.maxWaitMs = maxWaitMs;
        this.keyOf = keyOf;
    }

    void add(WorkItem item) {
        lock.lock();
        try {
            queue.add(item);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    int depth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** The next batch; empty once closed. */
    List<WorkItem> take() throws InterruptedException {
        lock.lock();
        try {
            while (queue.isEmpty() && !closed) changed.await();
            if (queue.isEmpty()) return List.of();
            WorkItem first = queue.getFirst();
            Object key = keyOf.apply(first);
            long deadline = first.receivedAtMs() + maxWaitMs;
            int cap = Math.min(maxImages, first.maxImagesPerBatch());
            while (!closed && imagesWithKey(key) < cap) {
                long wait = deadline - System.currentTimeMillis();
                if (wait <= 0) break;
                changed.await(wait, TimeUnit.MILLISECONDS);
                if (queue.isEmpty() || queue.getFirst() != first) break; // another worker took it
            }
            List<WorkItem> batch = new ArrayList<>();
            int images = 0;
            for (Iterator<WorkItem> it = queue.iterator(); it.hasNext(); ) {
                WorkItem w = it.next();
                if (!keyOf.apply(w).equals(key)) continue;
                // the memory budget: no item joins a batch larger than it may be part of
                int after = images + w.imageCount();
                if (!batch.isEmpty() && (after > cap || after > w.maxImagesPerBatch())) break;
                batch.add(w);
                images = after;
                cap = Math.min(cap, w.maxImagesPerBatch());
                it.remove();
            }
            return batch;
        } finally {
            lock.unlock();
        }
    }

    private int imagesWithKey(Object key) {
        int n = 0;
        for (WorkItem w : queue) if (keyOf.apply(w).equals(key)) n += w.imageCount();
        return n;
    }

    /** Wakes every waiting worker; queued items stay for {@link #drainAll()}. */
    void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Without waiting, removes and returns the queued items {@code accept} takes, in arrival order (a running
     * continuous batch asks at each step boundary; {@code accept} counts the room it gives away).
     */
    List<WorkItem> takeNow(java.util.function.Predicate<WorkItem> accept) {
        lock.lock();
        try {
            List<WorkItem> out = new ArrayList<>();
            for (Iterator<WorkItem> it = queue.iterator(); it.hasNext(); ) {
                WorkItem w = it.next();
                if (accept.test(w)) {
                    out.add(w);
                    it.remove();
                }
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** Drops queued work (of a revoked partition, say). */
    int removeIf(java.util.function.Predicate<WorkItem> which) {
        lock.lock();
        try {
            int before = queue.size();
            queue.removeIf(which);
            return before - queue.size();
        } finally {
            lock.unlock();
        }
    }

    List<WorkItem> drainAll() {
        lock.lock();
        try {
            List<WorkItem> all = new ArrayList<>(queue);
            queue.clear();
            return all;
        } finally {
            lock.unlock();
        }
    }
}
