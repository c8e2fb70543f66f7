package dev.membrane.gateway.outcome;

import java.util.List;

import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.gateway.message.Rejection;
import dev.membrane.policy.PolicyDecision;

/** The only way outcomes are made: every reason is bounded here. */
public final class Outcomes {
    private Outcomes() {
    }

    /** A record that failed validation. */
    public static Outcome.Rejected invalid(Received in, Rejection r, long now) {
        return new Outcome.Rejected(in, r.requestId(), null, null, r.code(), BoundedText.reason(r.getMessage()), now);
    }

    /** A valid request refused before any work (policy, budget, poison). */
    public static Outcome.Rejected refused(Received in, GenerationRequestMessage request, PolicyDecision decision, ErrorCode code,
                                           String message, long now) {
        return new Outcome.Rejected(in, request.requestId(), request, decision, code, BoundedText.reason(message), now);
    }

    /** A record refused before it could be parsed (a poison pill whose value is unreadable, say). */
    public static Outcome.Rejected refusedUnread(Received in, String requestId, ErrorCode code, String message, long now) {
        return new Outcome.Rejected(in, requestId, null, null, code, BoundedText.reason(message), now);
    }

    public static Outcome.Failed failed(Received in, GenerationRequestMessage request, PolicyDecision decision, ErrorCode code,
                                        String message, long now) {
        return new Outcome.Failed(in, request, decision, code, BoundedText.reason(message), List.of(), now);
    }

    public static Outcome.Expired expired(Received in, GenerationRequestMessage request, PolicyDecision decision, long deadlineMs, long now) {
        return new Outcome.Expired(in, request, decision, "deadline " + java.time.Instant.ofEpochMilli(deadlineMs) + " passed "
                + (now - deadlineMs) + " ms before the gateway came to it", now);
    }

    public static Outcome.Duplicate duplicate(Received in, String requestId, GenerationRequestMessage request, String firstPosition, long now) {
        return new Outcome.Duplicate(in, requestId, request, BoundedText.reason("requestId '" + BoundedText.quote(requestId)
                + "' is already " + firstPosition + "; this record publishes no result"), now);
    }

    public static Outcome.Completed completed(Received in, GenerationRequestMessage request, PolicyDecision decision,
                                              List<ImageOut> images, List<Applied> adapters, BatchTimings timings, long now) {
        return new Outcome.Completed(in, request, decision, images, adapters, timings, null, now);
    }

    /** The completed request with its output check, none of whose images a rule blocks. */
    public static Outcome.Completed checked(Outcome.Completed c, OutputCheckReport report) {
        return new Outcome.Completed(c.input(), c.request(), c.decision(), c.images(), c.adapters(), c.timings(), report, c.completedAtMs());
    }

    /** The completed request withheld by its output check. */
    public static Outcome.Blocked blocked(Outcome.Completed c, OutputCheckReport report, String why) {
        return new Outcome.Blocked(c.input(), c.request(), c.decision(), BoundedText.reason(why), c.adapters(), c.timings(), report,
                c.completedAtMs());
    }

    /** The completed request whose output check could not run: nothing is published (fail closed). */
    public static Outcome.Failed checkFailed(Outcome.Completed c, String why) {
        return new Outcome.Failed(c.input(), c.request(), c.decision(), ErrorCode.OUTPUT_CHECK_FAILED, BoundedText.reason(why),
                c.adapters(), c.completedAtMs());
    }

    /** A completed request whose result no topic accepts: its images are dropped, its adapters still audited. */
    public static Outcome.Failed outputTooLarge(Outcome.Completed c, String why) {
        return new Outcome.Failed(c.input(), c.request(), c.decision(), ErrorCode.OUTPUT_TOO_LARGE, BoundedText.reason(why),
                c.adapters(), c.completedAtMs());
    }
}
