package dev.membrane.gateway.message;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.scheduler.SchedulerKind;

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

    public GenerationRequestMessage parse(byte[] value) {
        JsonNode n;
        try {
            n = value == null ? null : JSON.readTree(value);
        } catch (IOException e) {
            throw new Rejection("INVALID_JSON", "record value is not JSON: " + e.getMessage().lines().findFirst().orElse(""), null);
        }
        if (n == null || !n.isObject()) throw new Rejection("INVALID_JSON", "record value must be a JSON object", null);
        JsonNode idNode = n.get("requestId");
        String id = idNode != null && idNode.isTextual() ? idNode.asText() : null;
        if (id == null) {
            throw new Rejection(idNode == null || idNode.isNull() ? "MISSING_FIELD" : "INVALID_FIELD",
                    idNode == null || idNode.isNull() ? "requestId is required" : "requestId must be a string", null);
        }
        if (id.isBlank() || id.length() > MAX_ID) throw new Rejection("INVALID_FIELD", "requestId must have 1 to " + MAX_ID + " characters", null);
        String prompt = string(n, "prompt", null, id);
        if (prompt == null) throw new Rejection("MISSING_FIELD", "prompt is required", id);
        if (prompt.isBlank()) throw new Rejection("INVALID_FIELD", "prompt must not be blank", id);
        if (prompt.length() > limits.maxPromptChars()) {
            throw new Rejection("OUT_OF_BOUNDS", "prompt has " + prompt.length() + " characters, at most " + limits.maxPromptChars(), id);
        }
        String negative = string(n, "negativePrompt", "", id);
        if (negative.length() > limits.maxPromptChars()) {
            throw new Rejection("OUT_OF_BOUNDS", "negativePrompt has " + negative.length() + " characters, at most " + limits.maxPromptChars(), id);
        }
        String tenant = string(n, "tenant", "", id);
        String app = string(n, "app", "", id);
        if (tenant.length() > MAX_ID || app.length() > MAX_ID) throw new Rejection("OUT_OF_BOUNDS", "tenant and app have at most " + MAX_ID + " characters", id);
        int width = integer(n, "width", limits.defaultSide(), id);
        int height = integer(n, "height", limits.defaultSide(), id);
        for (int side : new int[] {width, height}) {
            if (side < 8 || side % 8 != 0 || side > limits.maxSide()) {
                throw new Rejection("OUT_OF_BOUNDS", "width and height must be multiples of 8 between 8 and " + limits.maxSide()
                        + ", got " + width + "x" + height, id);
            }
        }
        if ((long) width * height > limits.maxPixels()) {
            throw new Rejection("OUT_OF_BOUNDS", width + "x" + height + " exceeds " + limits.maxPixels() + " pixels", id);
        }
        int steps = integer(n, "steps", limits.defaultSteps(), id);
        if (steps < 1 || steps > limits.maxSteps()) throw new Rejection("OUT_OF_BOUNDS", "steps must be between 1 and " + limits.maxSteps() + ", got " + steps, id);
        double guidance = number(n, "guidanceScale", limits.defaultGuidance(), id);
        if (!(guidance >= 0 && guidance <= limits.maxGuidance())) {
            throw new Rejection("OUT_OF_BOUNDS", "guidanceScale must be between 0 and " + limits.maxGuidance() + ", got " + guidance, id);
        }
        int numImages = integer(n, "numImages", 1, id);
        if (numImages < 1 || numImages > limits.maxImages()) {
            throw new Rejection("OUT_OF_BOUNDS", "numImages must be between 1 and " + limits.maxImages() + ", got " + numImages, id);
        }
        JsonNode seedNode = n.get("seed");
        boolean seedGiven = seedNode != null && !seedNode.isNull();
        if (seedGiven && !seedNode.canConvertToExactIntegral()) throw new Rejection("INVALID_FIELD", "seed must be an integer", id);
        if (seedGiven && !seedNode.canConvertToLong()) throw new Rejection("OUT_OF_BOUNDS", "seed must fit in 64 bits", id);
        long seed = seedGiven ? seedNode.asLong() : seeds.nextLong() & Long.MAX_VALUE;
        String scheduler = string(n, "scheduler", limits.defaultScheduler(), id).toLowerCase(Locale.ROOT);
        try {
            scheduler = SchedulerKind.parse(scheduler).id();
        } catch (MembraneException e) {
            throw new Rejection("INVALID_FIELD", e.getMessage(), id);
        }
        String model = string(n, "model", limits.defaultModel(), id);
        if (!limits.models().contains(model)) throw new Rejection("UNKNOWN_MODEL", "unknown model '" + model + "' (served: " + limits.models() + ")", id);
        return new GenerationRequestMessage(id, tenant, app, prompt, negative, width, height, steps, guidance, seed, seedGiven,
                scheduler, numImages, model);
    }

    private static String string(JsonNode n, String field, String fallback, String id) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw new Rejection("INVALID_FIELD", field + " must be a string", id);
        return v.asText();
    }

    private static int integer(JsonNode n, String field, int fallback, String id) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber() || !v.canConvertToExactIntegral()) throw new Rejection("INVALID_FIELD", field + " must be an integer", id);
        if (!v.canConvertToInt()) throw new Rejection("OUT_OF_BOUNDS", field + " is out of range", id);
        return v.asInt();
    }

    private static double number(JsonNode n, String field, double fallback, String id) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw new Rejection("INVALID_FIELD", field + " must be a number", id);
        return v.asDouble();
    }
}
