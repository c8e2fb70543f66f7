package dev.membrane.gateway.message;

import java.util.Set;

/**
 * Bounds and defaults for requests.
 *
 * @param maxPromptChars   longest prompt or negative prompt
 * @param maxSide          largest width or height in pixels
 * @param maxPixels        largest width × height
 * @param maxSteps         most inference steps
 * @param maxImages        most images per request
 * @param defaultSide      width and height when absent
 * @param defaultSteps     steps when absent
 * @param defaultGuidance  guidance when absent
 * @param maxGuidance      largest guidance scale
 * @param defaultScheduler scheduler when absent
 * @param defaultModel     model id when absent
 * @param models           the model ids the gateway serves
 */
public record RequestLimits(int maxPromptChars, int maxSide, long maxPixels, int maxSteps, int maxImages, int defaultSide,
                            int defaultSteps, double defaultGuidance, double maxGuidance, String defaultScheduler,
                            String defaultModel, Set<String> models) {
}
