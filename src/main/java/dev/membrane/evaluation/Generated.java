package dev.membrane.evaluation;

import java.awt.image.BufferedImage;
import java.util.List;

import dev.membrane.evaluation.classifier.Prediction;

/**
 * One generated image and what the classifier saw in it.
 *
 * @param prompt     its prompt
 * @param seed       its seed
 * @param moderated  whether the adapter stack was applied
 * @param image      the decoded PNG
 * @param prediction the classifier's reading
 * @param gammas     per adapter of the stack, the γ it was applied with (empty for base images)
 */
public record Generated(String prompt, long seed, boolean moderated, BufferedImage image, Prediction prediction,
                        List<Double> gammas) {
    public Generated {
        gammas = List.copyOf(gammas);
    }
}
