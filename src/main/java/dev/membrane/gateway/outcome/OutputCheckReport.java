package dev.membrane.gateway.outcome;

import java.util.List;

import dev.membrane.policy.OutputAction;
import dev.membrane.policy.OutputCheck;

/**
 * The output check of a request's images, as results and audit records report it.
 *
 * @param classifier       the classifier's id
 * @param classifierSha256 SHA-256 of its graph
 * @param images           each image's verdict, in the request's image order
 * @param action           the strongest action over the images
 * @param ms               classification time for all the images
 */
public record OutputCheckReport(String classifier, String classifierSha256, List<OutputCheck.Verdict> images, OutputAction action,
                                double ms) {
    public OutputCheckReport {
        images = List.copyOf(images);
    }
}
