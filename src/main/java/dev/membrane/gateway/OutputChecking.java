package dev.membrane.gateway;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.logging.Logger;

import dev.membrane.evaluation.Images;
import dev.membrane.gateway.outcome.ImageOut;
import dev.membrane.gateway.outcome.Outcome;
import dev.membrane.gateway.outcome.OutputCheckReport;
import dev.membrane.gateway.outcome.Outcomes;
import dev.membrane.policy.OutputAction;
import dev.membrane.policy.OutputCheck;
import dev.membrane.safety.ImageClassifier;

/**
 * The second line of defence, in the worker after decoding: a completed request whose policy has an output check
 * has every image classified in one batch by its model's classifier and judged by the policy's rules. Any image
 * a {@code block} rule fires on withholds the whole request (status BLOCKED, no image bytes); {@code flag} and
 * {@code allow} publish with the verdicts. A check that cannot run publishes nothing (fail closed).
 */
public final class OutputChecking {
    private static final Logger LOG = Logger.getLogger(OutputChecking.class.getName());

    private OutputChecking() {
    }

    /** @param counted told of every image's verdict (the gateway's metrics) */
    public static Outcome apply(Outcome whole, ServedModel model, BiConsumer<OutputCheck, OutputCheck.Verdict> counted) {
        if (!(whole instanceof Outcome.Completed c)) return whole;
        try {
            return check(c, model, counted);
        } catch (RuntimeException e) {
            // whatever went wrong, the images stay unpublished and the batch's other requests go on
            LOG.warning(c.input().position() + ": output check failed: " + e);
            return Outcomes.checkFailed(c, "output check failed: " + e.getMessage());
        }
    }

    private static Outcome check(Outcome.Completed c, ServedModel model, BiConsumer<OutputCheck, OutputCheck.Verdict> counted) {
        OutputCheck check = c.decision().policy().outputCheck();
        if (check == null) return c;
        ImageClassifier classifier = model.classifier();
        if (classifier == null || !classifier.card().id().equals(check.classifier())) {
            return Outcomes.checkFailed(c, "model '" + model.id() + "' has no classifier '" + check.classifier() + "'");
        }
        long t0 = System.nanoTime();
        List<ImageClassifier.Scores> scores;
        try {
            List<BufferedImage> decoded = new ArrayList<>();
            for (ImageOut img : c.images()) decoded.add(Images.decodePng(img.png()));
            scores = classifier.classifyForCheck(decoded);
        } catch (RuntimeException e) {
            LOG.warning(c.input().position() + ": output check failed: " + e.getMessage());
            return Outcomes.checkFailed(c, "output check failed: " + e.getMessage());
        }
        if (scores.size() != c.images().size()) {
            return Outcomes.checkFailed(c, "the classifier scored " + scores.size() + " of " + c.images().size() + " images");
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        List<OutputCheck.Verdict> verdicts = new ArrayList<>();
        OutputAction strongest = OutputAction.ALLOW;
        StringBuilder why = new StringBuilder();
        for (int i = 0; i < scores.size(); i++) {
            OutputCheck.Verdict v = check.judge(scores.get(i).byLabel());
            verdicts.add(v);
            counted.accept(check, v);
            if (v.action().compareTo(strongest) > 0) strongest = v.action();
            if (v.action() == OutputAction.BLOCK) {
                if (why.length() > 0) why.append("; ");
                why.append("image ").append(i).append(" (seed ").append(c.images().get(i).seed()).append("): ").append(v.describe());
            }
        }
        OutputCheckReport report = new OutputCheckReport(check.classifier(), classifier.card().modelSha256(), verdicts, strongest, ms);
        if (strongest == OutputAction.BLOCK) {
            LOG.info(c.input().position() + " blocked by its output check: " + why);
            return Outcomes.blocked(c, report, "output check blocked " + why);
        }
        return Outcomes.checked(c, report);
    }
}
