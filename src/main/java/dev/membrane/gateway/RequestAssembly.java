package dev.membrane.gateway;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.membrane.gateway.outcome.ImageOut;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.Outcomes;

/**
 * Puts a request split across batches by the memory budget back together: its outcome is {@code COMPLETED} with
 * every image in order once every part completed, or the first part's failure or expiry (later parts are then
 * skipped). Thread-safe: parts finish on any worker.
 */
final class RequestAssembly {
    private record Part(int firstImage, Outcome.Completed outcome) {
    }

    /** A split request's parts so far; {@code ended} once a part failed and its outcome went out. */
    private static final class State {
        final List<Part> parts = new ArrayList<>();
        int imagesAccounted;
        boolean ended;
    }

    private final Map<String, State> requests = new HashMap<>();

    /** A request under one assignment of its partition: a re-read after a revocation starts afresh. */
    private static String key(WorkItem part) {
        return part.input().position() + "#" + part.input().epoch();
    }

    /** Whether an earlier part of this request already ended it. */
    synchronized boolean abandoned(WorkItem part) {
        State s = requests.get(key(part));
        return s != null && s.ended;
    }

    /**
     * The request's outcome if this part decides it, else null. Skipped parts of an ended request must still be
     * offered (with any outcome) so the request's state is released once all its images are accounted for.
     */
    synchronized Outcome offer(WorkItem part, Outcome outcome) {
        if (!part.split()) return outcome;
        String key = key(part);
        State s = requests.computeIfAbsent(key, k -> new State());
        s.imagesAccounted += part.imageCount();
        boolean last = s.imagesAccounted >= part.request().numImages();
        if (last) requests.remove(key);
        if (s.ended) return null;
        if (!(outcome instanceof Outcome.Completed c)) {
            s.ended = true;
            return outcome;
        }
        s.parts.add(new Part(part.firstImage(), c));
        if (!last) return null;
        s.parts.sort(Comparator.comparingInt(Part::firstImage));
        List<ImageOut> all = new ArrayList<>();
        s.parts.forEach(p -> all.addAll(p.outcome().images()));
        Outcome.Completed latest = s.parts.stream().max(Comparator.comparingLong(p -> p.outcome().completedAtMs())).orElseThrow().outcome();
        return Outcomes.completed(c.input(), c.request(), c.decision(), all, c.adapters(), latest.timings(), latest.completedAtMs());
    }
}
