package dev.membrane.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Logger;

import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.serving.BatchingMode;
import dev.membrane.serving.DenoisingBatch;
import dev.membrane.serving.EffectiveMode;

/**
 * Worker threads, each with its own running batch ({@link WorkerLoop}). An idle worker waits for the
 * {@link Batcher}'s next batch; a busy one, in continuous mode, takes newly arrived compatible work at every step
 * boundary, so a request never waits for a batch to finish. Outcomes go to {@code sink}.
 */
final class GenerationWorkers {
    private static final Logger LOG = Logger.getLogger(GenerationWorkers.class.getName());
    private final Batcher batcher;
    private final Map<String, ServedModel> models;
    private final Consumer<Outcome> sink;
    private final GatewayMetrics metrics;
    private final BatchingMode mode;
    private final int maxBatchImages;
    private final RequestAssembly assembly = new RequestAssembly();
    private final List<Thread> threads = new ArrayList<>();

    GenerationWorkers(Batcher batcher, Map<String, ServedModel> models, Consumer<Outcome> sink, GatewayMetrics metrics,
                      BatchingMode mode, int maxBatchImages) {
        this.batcher = batcher;
        this.models = models;
        this.sink = sink;
        this.metrics = metrics;
        this.mode = mode;
        this.maxBatchImages = maxBatchImages;
    }

    /** The batching in force per model: continuous needs a UNet that takes a timestep per row. */
    static BatchingMode effectiveMode(BatchingMode requested, Map<String, ServedModel> models) {
        BatchingMode effective = requested;
        for (ServedModel m : models.values()) {
            EffectiveMode mode = DenoisingBatch.effectiveMode(requested, m.pipeline().pipeline().unet());
            if (mode.fellBack()) {
                LOG.warning("model '" + m.id() + "': " + mode.reason());
                effective = BatchingMode.STATIC;
            }
        }
        return effective;
    }

    void start(int count) {
        for (int i = 0; i < count; i++) {
            Thread t = new Thread(this::run, "membrane-worker-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run() {
        try (WorkerLoop loop = new WorkerLoop(models, mode, maxBatchImages, assembly, metrics)) {
            while (true) {
                List<WorkItem> taken;
                if (loop.idle()) {
                    try {
                        taken = batcher.take();
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (taken.isEmpty()) return;
                } else {
                    int[] rows = {0};
                    taken = batcher.takeNow(w -> {
                        if (!loop.hasRoomFor(w, rows[0])) return false;
                        rows[0] += WorkerLoop.rowsOf(w);
                        return true;
                    });
                }
                loop.admit(taken).forEach(sink);
                loop.step().forEach(sink);
            }
        }
    }

    /** Runs these items to their end on a batch of their own (tests). */
    List<Outcome> process(List<WorkItem> items) {
        try (WorkerLoop loop = new WorkerLoop(models, mode, maxBatchImages, assembly, metrics)) {
            return loop.runToEnd(items);
        }
    }

    /** Waits for the workers to finish their current batches after {@link Batcher#close()}. */
    void join(long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        for (Thread t : threads) t.join(Math.max(1, deadline - System.currentTimeMillis()));
    }

    boolean stopped() {
        return threads.stream().noneMatch(Thread::isAlive);
    }

    void interrupt() {
        threads.forEach(Thread::interrupt);
    }
}
