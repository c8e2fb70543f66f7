package dev.membrane.bench;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import dev.membrane.serving.BatchingMode;
import dev.membrane.serving.DenoisingBatch;
import dev.membrane.serving.FinishedRequest;
import dev.membrane.serving.PreparedRequest;
import dev.membrane.spm.AdapterPipeline;

/**
 * One worker thread driving a {@link DenoisingBatch} from an arrival queue, as the gateway's worker will: a request
 * is waiting once its arrival time has passed and is prepared when the worker takes it. STATIC forms a batch from
 * the oldest waiting request and every waiting one with its steps (up to the row limit), with no batch window, and
 * runs it to its end; CONTINUOUS admits waiting requests in arrival order before every step while they fit.
 */
final class LoadDriver {
    /**
     * @param mode          the batching mode in force
     * @param latencyMs     per request, arrival to finished (decoded)
     * @param throughputRps requests finished per second, first arrival to last finish
     * @param unetCalls     UNet calls made
     * @param meanRows      mean UNet rows per call
     * @param meanStepMs    mean time of one step (the UNet call, scheduler steps, and decoding when a request leaves)
     */
    record Run(BatchingMode mode, List<Double> latencyMs, double throughputRps, int unetCalls, double meanRows, double meanStepMs) {
    }

    private LoadDriver() {
    }

    static Run run(AdapterPipeline pipeline, BatchingMode mode, List<LoadArrivals.Arrival> arrivals, int maxRows, Consumer<String> progress) {
        Map<String, Double> arrivedAt = new HashMap<>();
        List<Double> latencies = new ArrayList<>();
        Deque<LoadArrivals.Arrival> future = new ArrayDeque<>(arrivals);
        List<PreparedRequest> waiting = new ArrayList<>();
        long calls = 0;
        long rows = 0;
        double stepMs = 0;
        long start = System.nanoTime();
        double lastFinishMs = 0;
        try (DenoisingBatch batch = new DenoisingBatch(pipeline, mode, maxRows)) {
            if (batch.effectiveMode().fellBack()) progress.accept(batch.effectiveMode().reason());
            while (latencies.size() < arrivals.size()) {
                double now = sinceMs(start);
                while (!future.isEmpty() && future.peekFirst().atMs() <= now) {
                    LoadArrivals.Arrival a = future.pollFirst();
                    arrivedAt.put(a.spec().id(), a.atMs());
                    waiting.add(PreparedRequest.prepare(pipeline, a.spec()));
                }
                if (batch.isEmpty() && waiting.isEmpty()) {
                    sleepUntil(start, future.peekFirst().atMs());
                    continue;
                }
                admit(batch, waiting);
                rows += batch.activeRows();
                calls++;
                long stepStart = System.nanoTime();
                List<FinishedRequest> finished = batch.step();
                stepMs += (System.nanoTime() - stepStart) / 1e6;
                for (FinishedRequest f : finished) {
                    if (f instanceof FinishedRequest.Failed failed) throw new IllegalStateException(f.id() + ": " + failed.reason(), failed.cause());
                    lastFinishMs = sinceMs(start);
                    latencies.add(lastFinishMs - arrivedAt.get(f.id()));
                    if (latencies.size() % 5 == 0) progress.accept(mode.id() + ": " + latencies.size() + "/" + arrivals.size() + " requests done");
                }
            }
            double span = (lastFinishMs - arrivals.get(0).atMs()) / 1e3;
            return new Run(batch.effectiveMode().mode(), latencies, arrivals.size() / span, (int) calls, rows / (double) calls, stepMs / calls);
        }
    }

    /** Oldest first; STATIC only forms a batch when none runs (canAdmit refuses otherwise) and takes its steps only. */
    private static void admit(DenoisingBatch batch, List<PreparedRequest> waiting) {
        for (Iterator<PreparedRequest> it = waiting.iterator(); it.hasNext(); ) {
            PreparedRequest p = it.next();
            if (!batch.fits(p)) throw new IllegalStateException(p.id() + " needs " + batch.rowsOf(p) + " rows, the batch has " + batch.maxRows());
            if (batch.canAdmit(p)) {
                batch.admit(p);
                it.remove();
            } else if (batch.effectiveMode().mode() == BatchingMode.CONTINUOUS) {
                return; // keep arrival order: nobody overtakes a request that does not fit yet
            }
        }
    }

    private static double sinceMs(long start) {
        return (System.nanoTime() - start) / 1e6;
    }

    private static void sleepUntil(long start, double atMs) {
        long ms = (long) Math.ceil(atMs - sinceMs(start));
        if (ms <= 0) return;
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
