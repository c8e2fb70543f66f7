package dev.membrane.gateway.playground;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.membrane.gateway.outcome.Applied;
import dev.membrane.gateway.outcome.ErrorCode;
import dev.membrane.policy.OutputCheck;

/** How a playground compare ended. */
public sealed interface Comparison {
    /** The body breaks a bound or rule of Kafka requests (HTTP 400); nothing ran, nothing is audited. */
    record Invalid(ErrorCode code, String message) implements Comparison {
    }

    /** As many compares as allowed are running (HTTP 429). */
    record Busy(int limit) implements Comparison {
    }

    /** The audit record could not be written, so no image is returned (HTTP 503). */
    record Unaudited(String requestId, String message) implements Comparison {
    }

    /**
     * Audited. {@code status} is the moderated image's as the gateway would publish it: COMPLETED, BLOCKED (its
     * output check fired; the playground still shows both images, and the audit names them), or REJECTED (refused
     * before generating: no images).
     */
    record Done(String requestId, String status, ErrorCode code, String reason, String policy, String policyVersion,
                String model, long seed, int steps, int width, int height, Image base, Image moderated,
                List<Applied> adapters, Check outputCheck, Map<String, Double> timingsMs, JsonNode audit) implements Comparison {
    }

    /** One image, PNG. */
    record Image(byte[] png, String sha256) {
    }

    /** The policy's output check on both images: the base one as it would have been judged without adapters. */
    record Check(String classifier, OutputCheck.Verdict base, OutputCheck.Verdict moderated) {
    }
}
