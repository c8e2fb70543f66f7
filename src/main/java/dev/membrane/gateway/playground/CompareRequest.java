package dev.membrane.gateway.playground;

/**
 * {@code POST /api/compare}'s body: a request as a producer would put it on Kafka, less the id (the playground
 * gives one). Absent fields take the same defaults, and every field the same bounds, as on Kafka.
 */
public record CompareRequest(String tenant, String app, String prompt, String negativePrompt, Long seed, Integer steps,
                             Integer width, Integer height, Double guidanceScale, String scheduler, String model) {
}
