package dev.membrane.gateway.message;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.gateway.outcome.BoundedText;
import dev.membrane.gateway.outcome.ErrorCode;

/**
 * Reads and validates a {@code membrane.requests} record value. Unknown fields are ignored; a field of the wrong
 * JSON type, a missing required field or a value out of bounds is a {@link Rejection} naming the field.
 * Thread-safe.
 */
public final class RequestParser {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ID = 128;
    private final RequestLimits limits;
    private final SecureRandom seeds = new SecureRandom();

    public RequestParser(RequestLimits limits) {
        this.limits = limits;
    }

    /** As {@link #parse(byte[], long)} for a record without a timestamp ({@code ttlMs} then counts from now). */
    public GenerationRequestMessage parse(byte[] value) {
        return parse(value, System.currentTimeMillis());
    }

    /**
     * @param value           the record value
     * @param recordTimestamp the record's timestamp (epoch ms): {@code ttlMs} counts from it
     */
    public GenerationRequestMessage parse(byte[] value, long recordTimestamp) {
        JsonNode n;
        try {
            n = value == null ? null : JSON.readTree(value);
        } catch (IOException e) {
            throw new Rejection(ErrorCode.INVALID_JSON, "record value is not JSON: " + e.getMessage().lines().findFirst().orElse(""), null);
        }
        if (n == null || !n.isObject()) throw new Rejection(ErrorCode.INVALID_JSON, "record value must be a JSON object", null);
        JsonNode idNode = n.get("requestId");
        String id = idNode != null && idNode.isTextual() ? idNode.asText() : null;
        if (id == null) {
            throw new Rejection(idNode == null || idNode.isNull() ? ErrorCode.MISSING_FIELD : ErrorCode.INVALID_FIELD,
                    idNode == null || idNode.isNull() ? "requestId is required" : "requestId must be a string", null);
        }
        if (id.isBlank() || id.length() > MAX_ID) throw new Rejection(ErrorCode.INVALID_FIELD, "requestId must have 1 to " + MAX_ID + " characters", null);
        String prompt = string(n, "prompt", null, id);
        if (prompt == null) throw new Rejection(ErrorCode.MISSING_FIELD, "prompt is required", id);
        if (prompt.isBlank()) throw new Rejection(ErrorCode.INVALID_FIELD, "prompt must not be blank", id);
        if (prompt.length() > limits.maxPromptChars()) {
            throw new Rejection(ErrorCode.OUT_OF_BOUNDS, "prompt has " + prompt.length() + " characters, at most " + limits.maxPromptChars(), id);
        }
        String negative = string(n, "negativePrompt", "", id);
        if (negative.length() > limits.maxPromptChars()) {
            throw new Rejection(ErrorCode.OUT_OF_BOUNDS, "negativePrompt has " + negative.length() + " characters, at most " + limits.maxPromptChars(), id);
        }
        String tenant = string(n, "tenant", "", id);
        String app = string(n, "app", "", id);
        if (tenant.length() > MAX_ID || app.length() > MAX_ID) throw new Rejection(ErrorCode.OUT_OF_BOUNDS, "tenant and app have at most " + MAX_ID + " characters", id);
        int width = integer(n, "width", limits.defaultSide(), id);
        int height = integer(n, "height", limits.defaultSide(), id);
        for (int side : new int[] {width, height}) {
            if (side < 8 || side % 8 != 0 || side > limits.maxSide()) {
                throw new Rejection(ErrorCode.OUT_OF_BOUNDS, "width and height must be multiples of 8 between 8 and " + limits.maxSide()
                        + ", got " + width + "x" + height, id);
            }
        }
        if ((long) width * height > limits.maxPixels()) {
            throw new Rejection(ErrorCode.OUT_OF_BOUNDS, width + "x" + height + " exceeds " + limits.maxPixels() + " pixels", id);
        }
        int steps = integer(n, "steps", limits.defaultSteps(), id);
        if (steps < 1 || steps > limits.maxSteps()) throw new Rejection(ErrorCode.OUT_OF_BOUNDS, "steps must be between 1 and " + limits.maxSteps() + ", got " + steps, id);
        double guidance = number(n, "guidanceScale", limits.defaultGuidance(), id);
        if (!(guidance >= 0 && guidance <= limits.maxGuidance())) {
            throw new Rejection(ErrorCode.OUT_OF_BOUNDS, "guidanceScale must be between 0 and " + limits.maxGuidance() + ", got " + guidance, id);
        }
        int numImages = integer(n, "numImages", 1, id);
        if (numImages < 1 || numImages > limits.maxImages()) {
            throw new Rejection(ErrorCode.OUT_OF_BOUNDS, "numImages must be between 1 and " + limits.maxImages() + ", got " + numImages, id);
        }
        JsonNode seedNode = n.get("seed");
        boolean seedGiven = seedNode != null && !seedNode.isNull();
        if (seedGiven && !seedNode.canConvertToExactIntegral()) throw new Rejection(ErrorCode.INVALID_FIELD, "seed must be an integer", id);
        if (seedGiven && !seedNode.canConvertToLong()) throw new Rejection(ErrorCode.OUT_OF_BOUNDS, "seed must fit in 64 bits", id);
        long seed = seedGiven ? seedNode.asLong() : seeds.nextLong() & Long.MAX_VALUE;
        String scheduler = string(n, "scheduler", limits.defaultScheduler(), id).toLowerCase(Locale.ROOT);
        try {
            scheduler = SchedulerKind.parse(scheduler).id();
        } catch (MembraneException e) {
            throw new Rejection(ErrorCode.INVALID_FIELD, "unknown scheduler '" + BoundedText.quote(scheduler) + "' (pndm, ddim, euler)", id);
        }
        String model = string(n, "model", limits.defaultModel(), id);
        if (!limits.models().contains(model)) throw new Rejection(ErrorCode.UNKNOWN_MODEL, "unknown model '" + BoundedText.quote(model) + "' (served: " + limits.models() + ")", id);
        long deadline = deadline(n, recordTimestamp, id);
        return new GenerationRequestMessage(id, tenant, app, prompt, negative, width, height, steps, guidance, seed, seedGiven,
                scheduler, numImages, model, deadline);
    }

    /** {@code deadlineMs} (epoch ms), or the record's timestamp + {@code ttlMs}, the earlier of both; none: MAX_VALUE. */
    private static long deadline(JsonNode n, long recordTimestamp, String id) {
        long deadline = GenerationRequestMessage.NO_DEADLINE;
        JsonNode d = n.get("deadlineMs");
        if (d != null && !d.isNull()) {
            if (!d.isNumber() || !d.canConvertToExactIntegral() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new Rejection(ErrorCode.INVALID_FIELD, "deadlineMs must be an epoch time in milliseconds", id);
            }
            deadline = d.asLong();
        }
        JsonNode t = n.get("ttlMs");
        if (t != null && !t.isNull()) {
            if (!t.isNumber() || !t.canConvertToExactIntegral() || !t.canConvertToLong() || t.asLong() < 1) {
                throw new Rejection(ErrorCode.INVALID_FIELD, "ttlMs must be a positive integer (milliseconds)", id);
            }
            long ttl = t.asLong();
            long byTtl = recordTimestamp > Long.MAX_VALUE - ttl ? GenerationRequestMessage.NO_DEADLINE : recordTimestamp + ttl;
            deadline = Math.min(deadline, byTtl);
        }
        return deadline;
    }

    private static String string(JsonNode n, String field, String fallback, String id) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw new Rejection(ErrorCode.INVALID_FIELD, field + " must be a string", id);
        return v.asText();
    }

    private static int integer(JsonNode n, String field, int fallback, String id) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber() || !v.canConvertToExactIntegral()) throw new Rejection(ErrorCode.INVALID_FIELD, field + " must be an integer", id);
        if (!v.canConvertToInt()) throw new Rejection(ErrorCode.OUT_OF_BOUNDS, field + " is out of range", id);
        return v.asInt();
    }

    private static double number(JsonNode n, String field, double fallback, String id) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw new Rejection(ErrorCode.INVALID_FIELD, field + " must be a number", id);
        return v.asDouble();
    }
}
