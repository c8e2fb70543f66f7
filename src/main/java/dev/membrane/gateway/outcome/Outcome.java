package dev.membrane.gateway.outcome;

import java.util.List;

import dev.membrane.gateway.message.GenerationRequestMessage;
import dev.membrane.policy.PolicyDecision;

/**
 * How one input record ended. Every outcome publishes exactly one audit record; all but {@link Duplicate} a
 * result keyed by the request id (when it could be read); those whose {@link ErrorCode#deadLetters()} also a dead
 * letter. Built through the factories of {@link Outcomes}.
 */
public sealed interface Outcome permits Outcome.Completed, Outcome.Blocked, Outcome.Rejected, Outcome.Failed, Outcome.Expired,
        Outcome.Duplicate {

    /** The {@code status} of results and audit records. */
    enum Status { COMPLETED, BLOCKED, REJECTED, FAILED, EXPIRED, DUPLICATE }

    Received input();

    /** The request id, or null when it could not be read. */
    String requestId();

    /** The validated request, or null when validation failed. */
    GenerationRequestMessage request();

    /** The policy decision, or null before one was made. */
    PolicyDecision decision();

    long completedAtMs();

    Status status();

    /** Why it did not complete; null for {@link Completed}. */
    ErrorCode code();

    /** The reason for the producer, bounded in length; null for {@link Completed}. */
    String message();

    default List<ImageOut> images() {
        return List.of();
    }

    default List<Applied> adapters() {
        return List.of();
    }

    /** Null unless completed. */
    default BatchTimings timings() {
        return null;
    }

    /** The output check of its images; null when its policy has none or nothing was generated. */
    default OutputCheckReport outputCheck() {
        return null;
    }

    default boolean publishesResult() {
        return requestId() != null && status() != Status.DUPLICATE;
    }

    default boolean deadLetters() {
        return code() != null && code().deadLetters();
    }

    record Completed(Received input, GenerationRequestMessage request, PolicyDecision decision, List<ImageOut> images,
                     List<Applied> adapters, BatchTimings timings, OutputCheckReport outputCheck, long completedAtMs) implements Outcome {
        public Completed {
            images = List.copyOf(images);
            adapters = List.copyOf(adapters);
        }

        public String requestId() {
            return request.requestId();
        }

        public Status status() {
            return Status.COMPLETED;
        }

        public ErrorCode code() {
            return null;
        }

        public String message() {
            return null;
        }
    }

    /** Generated, then withheld by its policy's output check: no image bytes, the verdicts and adapters audited. */
    record Blocked(Received input, GenerationRequestMessage request, PolicyDecision decision, String message, List<Applied> adapters,
                   BatchTimings timings, OutputCheckReport outputCheck, long completedAtMs) implements Outcome {
        public Blocked {
            adapters = List.copyOf(adapters);
        }

        public String requestId() {
            return request.requestId();
        }

        public Status status() {
            return Status.BLOCKED;
        }

        public ErrorCode code() {
            return ErrorCode.OUTPUT_BLOCKED;
        }
    }

    /** Refused before any work: malformed, out of bounds or budget, by policy, or a poison pill. */
    record Rejected(Received input, String requestId, GenerationRequestMessage request, PolicyDecision decision, ErrorCode code,
                    String message, long completedAtMs) implements Outcome {
        public Status status() {
            return Status.REJECTED;
        }
    }

    /** A valid request that could not be served (generation failed, or its result could not be published). */
    record Failed(Received input, GenerationRequestMessage request, PolicyDecision decision, ErrorCode code, String message,
                  List<Applied> adapters, long completedAtMs) implements Outcome {
        public Failed {
            adapters = List.copyOf(adapters);
        }

        public String requestId() {
            return request.requestId();
        }

        public Status status() {
            return Status.FAILED;
        }
    }

    /** Past its deadline when the gateway came to it; nothing was generated. */
    record Expired(Received input, GenerationRequestMessage request, PolicyDecision decision, String message, long completedAtMs)
            implements Outcome {
        public String requestId() {
            return request.requestId();
        }

        public Status status() {
            return Status.EXPIRED;
        }

        public ErrorCode code() {
            return ErrorCode.DEADLINE_EXCEEDED;
        }
    }

    /** A second record with the id of a request in flight or completed: audited, never a result. */
    record Duplicate(Received input, String requestId, GenerationRequestMessage request, String message, long completedAtMs)
            implements Outcome {
        public PolicyDecision decision() {
            return null;
        }

        public Status status() {
            return Status.DUPLICATE;
        }

        public ErrorCode code() {
            return ErrorCode.DUPLICATE_REQUEST;
        }
    }
}
