package dev.membrane.training;

import java.util.ArrayList;
import java.util.List;

import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEmbeddings;

/**
 * The text embeddings a run needs, encoded once by the served text encoder (ONNX Runtime; no gradient flows
 * through text): the unconditional "", each target concept, the surrogate, and the held-out check's unrelated
 * prompts. Each is one [length, width] block.
 *
 * @param unconditional "" (the CFG negative of the sampling trajectory)
 * @param targets       one per concept
 * @param surrogate     the neutral prompt
 * @param checks        the unrelated prompts of the held-out check
 * @param anchorPrompts the real prompts anchored besides the random anchors
 * @param length        tokens (77)
 * @param width         d
 */
public record Conditioning(float[] unconditional, List<float[]> targets, float[] surrogate, List<float[]> checks,
                           List<float[]> anchorPrompts, int length, int width) {

    public static Conditioning encode(PromptEncoder encoder, TrainingSpec spec) {
        List<String> prompts = new ArrayList<>();
        prompts.add("");
        prompts.addAll(spec.concepts());
        prompts.add(spec.surrogate());
        prompts.addAll(spec.checkPrompts());
        prompts.addAll(spec.anchorPrompts());
        TextEmbeddings e = encoder.encode(prompts);
        int n = spec.concepts().size();
        List<float[]> targets = new ArrayList<>();
        for (int i = 0; i < n; i++) targets.add(e.row(1 + i));
        List<float[]> checks = new ArrayList<>();
        for (int i = 0; i < spec.checkPrompts().size(); i++) checks.add(e.row(2 + n + i));
        int first = 2 + n + spec.checkPrompts().size();
        List<float[]> anchors = new ArrayList<>();
        for (int i = 0; i < spec.anchorPrompts().size(); i++) anchors.add(e.row(first + i));
        return new Conditioning(e.row(0), targets, e.row(1 + n), checks, anchors, e.length(), e.width());
    }

    public int elements() {
        return length * width;
    }

    static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += x * (double) x;
        return Math.sqrt(s);
    }
}
