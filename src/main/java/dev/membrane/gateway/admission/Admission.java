package dev.membrane.gateway.admission;

import java.util.Map;
import java.util.logging.Logger;

import dev.membrane.gateway.WorkItem;
import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.gateway.message.Rejection;
import dev.membrane.gateway.message.RequestParser;
import dev.membrane.gateway.outcome.ErrorCode;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.Outcomes;
import dev.membrane.gateway.outcome.Received;
import dev.membrane.policy.PolicyDecision;
import dev.membrane.policy.PolicyStore;

/**
 * The broker-free step between reading a record and queueing its work: parse, crash-loop breaker, deduplicate,
 * deadline, policy, prompt check, output classifier, adapter slots and memory budget, in that order. Confined to the Kafka loop thread (the duplicate window is).
 */
public final class Admission {
    private static final Logger LOG = Logger.getLogger(Admission.class.getName());

    /** What admission decided. */
    public sealed interface Result permits Admitted, Refused {
    }

    public record Admitted(WorkItem item) implements Result {
    }

    /** Ended before any work, with this outcome. */
    public record Refused(Outcome outcome) implements Result {
    }

    /** What admission needs to know of a served model. */
    public interface ModelCapacity {
        /** Adapter slots of its prepared UNet. */
        int slots();

        /** Most images of this request's size and guidance one batch can hold within the memory budget; 0 if not even one. */
        int imagesPerBatch(GenerationRequestMessage request);

        /** Why not even one image fits (for the OVER_BUDGET reason). */
        String budgetReason(GenerationRequestMessage request);
    }

    private final RequestParser parser;
    private final PolicyStore policies;
    private final Map<String, ModelCapacity> models;
    private final RecentRequests recent;
    private final int poisonAfter;
    private final Map<String, String> classifiers;

    /**
     * @param classifiers each served model's output classifier id (models without one absent)
     * @param poisonAfter deaths with a record in flight after which it is refused as {@code POISON}
     */
    public Admission(RequestParser parser, PolicyStore policies, Map<String, ModelCapacity> models, Map<String, String> classifiers,
                     RecentRequests recent, int poisonAfter) {
        this.poisonAfter = poisonAfter;
        this.parser = parser;
        this.policies = policies;
        this.models = Map.copyOf(models);
        this.classifiers = Map.copyOf(classifiers);
        this.recent = recent;
    }

    public RecentRequests recent() {
        return recent;
    }

    /**
     * @param deathsInFlight how many times this record's generation started and the process died before its outcome
     *                       was published (the crash-loop breaker's count)
     */
    public Result admit(Received in, int deathsInFlight, long nowMs) {
        boolean poisoned = deathsInFlight >= poisonAfter;
        String poisonReason = "its processing was in flight " + deathsInFlight + " times when the gateway died; not tried again";
        if (poisoned) LOG.severe(in.position() + " is a poison pill: " + poisonReason);
        GenerationRequestMessage req;
        try {
            // ttlMs counts from the record's timestamp; a record without one (-1) counts from its reading
            req = parser.parse(in.value(), in.timestamp() >= 0 ? in.timestamp() : in.receivedAtMs());
        } catch (Rejection e) {
            if (poisoned) return new Refused(Outcomes.refusedUnread(in, e.requestId(), ErrorCode.POISON, poisonReason, nowMs));
            RecentRequests.Seen first = e.requestId() == null ? null : recent.find(in.partition(), e.requestId(), nowMs);
            // a malformed record must not publish a REJECTED over another record's result under the same key
            if (first != null) return new Refused(Outcomes.duplicate(in, e.requestId(), null, describe(first), nowMs));
            return new Refused(Outcomes.invalid(in, e, nowMs));
        }
        // its result keyed by its request id, so the producer learns why
        if (poisoned) return new Refused(Outcomes.refused(in, req, null, ErrorCode.POISON, poisonReason, nowMs));
        RecentRequests.Seen first = recent.find(in.partition(), req.requestId(), nowMs);
        if (first != null) return new Refused(Outcomes.duplicate(in, req.requestId(), req, describe(first), nowMs));
        if (req.expiredAt(nowMs)) return new Refused(Outcomes.expired(in, req, null, req.deadlineMs(), nowMs));

        PolicyDecision decision = policies.decide(req.tenant(), req.app());
        if (decision.refusal() != null) {
            ErrorCode code = decision.policy() == null ? ErrorCode.NO_POLICY : ErrorCode.POLICY_REFUSED;
            return refuse(in, req, decision, code, decision.refusal(), nowMs);
        }
        var promptMatch = decision.policy().promptCheck().match(req.prompt());
        if (promptMatch.isPresent()) {
            return refuse(in, req, decision, ErrorCode.PROMPT_BLOCKED, "the prompt matches policy '" + decision.policy().id()
                    + "' blocked " + promptMatch.get(), nowMs);
        }
        var check = decision.policy().outputCheck();
        if (check != null && !check.classifier().equals(classifiers.get(req.model()))) {
            // fail closed: never generate what could not be checked
            return refuse(in, req, decision, ErrorCode.POLICY_REFUSED, "policy '" + decision.policy().id() + "' checks outputs with classifier '"
                    + check.classifier() + "', which model '" + req.model() + "' does not load (membrane.models." + req.model() + ".classifier)", nowMs);
        }
        ModelCapacity model = models.get(req.model());
        int needed = decision.policy().stacking().slotsNeeded(decision.adapters().stream().map(a -> a.file().rank()).toList());
        if (needed > model.slots()) {
            return refuse(in, req, decision, ErrorCode.POLICY_REFUSED, "policy '" + decision.policy().id() + "' needs " + needed
                    + " adapter slots; model '" + req.model() + "' is prepared with " + model.slots(), nowMs);
        }
        int perBatch = model.imagesPerBatch(req);
        if (perBatch < 1) return refuse(in, req, decision, ErrorCode.OVER_BUDGET, model.budgetReason(req), nowMs);
        recent.inFlight(in.partition(), req.requestId(), in.position(), nowMs);
        return new Admitted(new WorkItem(in, req, decision, perBatch));
    }

    private static Refused refuse(Received in, GenerationRequestMessage req, PolicyDecision d, ErrorCode code, String why, long nowMs) {
        LOG.warning(in.position() + " refused (" + code + "): " + why);
        return new Refused(Outcomes.refused(in, req, d, code, why, nowMs));
    }

    private static String describe(RecentRequests.Seen s) {
        return (s.state() == RecentRequests.State.IN_FLIGHT ? "in flight" : "completed") + " at " + s.position();
    }
}
