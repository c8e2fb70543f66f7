package dev.membrane.training;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.MembraneException;

/**
 * One SPM training run with Latent Anchoring, as the official {@code train_spm.py} defines it. The defaults are the
 * official ones ({@link #officialDefaults}); the spec travels in every checkpoint so that a resumed run continues the
 * same recipe.
 *
 * @param concepts          target concepts (the file's {@code prompts}); one is drawn per iteration
 * @param surrogate         the neutral prompt the concept is pushed towards ("" by default)
 * @param iterations        total iterations (the schedule's length)
 * @param seed              seed of every random draw (initialisation, t_to, noise, anchors)
 * @param rank              adapter rank r
 * @param alpha             adapter alpha (scale alpha/r; 0 means alpha = r)
 * @param learningRate      AdamW learning rate
 * @param warmup            warm-up iterations of the cosine-with-restarts schedule
 * @param cycles            restarts of the schedule
 * @param anchorStrength    λ, the weight of the anchoring loss
 * @param anchors           anchor embeddings per iteration
 * @param maxDenoisingSteps DDIM steps of the sampling schedule (t_to is drawn in [1, this − 1])
 * @param samplingGuidance  CFG scale of the no-grad trajectory on ("", target)
 * @param eraseGuidance     η in the erase target ε_neu − η(ε_pos − ε_neu)
 * @param resolution        image side in pixels (latents are resolution/8)
 * @param checkPrompts      unrelated prompts of the held-out check
 * @param anchorPrompts     real prompts anchored besides the random anchors (not in the official recipe; empty by default)
 */
public record TrainingSpec(List<String> concepts, String surrogate, int iterations, long seed, int rank, float alpha,
                           double learningRate, int warmup, int cycles, double anchorStrength, int anchors,
                           int maxDenoisingSteps, double samplingGuidance, double eraseGuidance, int resolution,
                           List<String> checkPrompts, List<String> anchorPrompts) {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final List<String> DEFAULT_CHECK_PROMPTS = List.of("a photo of a cat", "a red sports car on a road",
            "a mountain lake at sunrise", "a portrait of an old man");

    public TrainingSpec {
        concepts = List.copyOf(concepts);
        checkPrompts = List.copyOf(checkPrompts);
        anchorPrompts = List.copyOf(anchorPrompts);
        for (String a : anchorPrompts) {
            if (checkPrompts.contains(a)) throw new MembraneException("--anchor-prompt '" + a + "' is also a --check-prompt: the held-out check would not be held out");
        }
        if (concepts.isEmpty() || concepts.stream().anyMatch(String::isBlank)) throw new MembraneException("--concept is required and must not be blank");
        if (concepts.stream().anyMatch(c -> c.contains(","))) {
            throw new MembraneException("a concept must not contain ',' (the file's prompts metadata is comma-separated)");
        }
        if (iterations < 1) throw new MembraneException("--iterations must be at least 1, got " + iterations);
        if (rank < 1) throw new MembraneException("--rank must be at least 1, got " + rank);
        if (alpha < 0) throw new MembraneException("--alpha must not be negative, got " + alpha);
        if (!(learningRate > 0)) throw new MembraneException("--lr must be positive, got " + learningRate);
        if (!(eraseGuidance >= 0) || Double.isInfinite(eraseGuidance)) {
            throw new MembraneException("--erase-guidance must be a finite number >= 0, got " + eraseGuidance);
        }
        if (anchorStrength < 0) throw new MembraneException("--anchor-strength must not be negative, got " + anchorStrength);
        if (anchors < 0) throw new MembraneException("--anchors must not be negative, got " + anchors);
        if (maxDenoisingSteps < 2 || maxDenoisingSteps > 1000) {
            throw new MembraneException("--max-denoising-steps must be between 2 and 1000, got " + maxDenoisingSteps);
        }
        if (resolution < 64 || resolution % 64 != 0) {
            throw new MembraneException("--resolution must be a multiple of 64 (latent sides a multiple of 8), got " + resolution);
        }
        if (warmup < 0 || cycles < 1) throw new MembraneException("warm-up must be ≥ 0 and cycles ≥ 1");
    }

    /** The official defaults for these concepts at this resolution. */
    public static TrainingSpec officialDefaults(List<String> concepts, int resolution) {
        return new TrainingSpec(concepts, "", 3000, 0, 1, 1f, 1e-4, 500, 3, 1000, 4, 30, 3, 1, resolution, DEFAULT_CHECK_PROMPTS, List.of());
    }

    public int latentSide() {
        return resolution / 8;
    }

    public LearningRateSchedule schedule() {
        return new LearningRateSchedule(learningRate, warmup, iterations, cycles);
    }

    public String toJson() {
        return JSON.valueToTree(this).toString();
    }

    public static TrainingSpec fromJson(String json, String source) {
        try {
            JsonNode n = JSON.readTree(json);
            List<String> concepts = new ArrayList<>();
            n.get("concepts").forEach(c -> concepts.add(c.asText()));
            List<String> checks = new ArrayList<>();
            n.get("checkPrompts").forEach(c -> checks.add(c.asText()));
            List<String> anchorPrompts = new ArrayList<>();
            n.path("anchorPrompts").forEach(c -> anchorPrompts.add(c.asText()));
            return new TrainingSpec(concepts, n.get("surrogate").asText(), n.get("iterations").asInt(), n.get("seed").asLong(),
                    n.get("rank").asInt(), (float) n.get("alpha").asDouble(), n.get("learningRate").asDouble(),
                    n.get("warmup").asInt(), n.get("cycles").asInt(), n.get("anchorStrength").asDouble(), n.get("anchors").asInt(),
                    n.get("maxDenoisingSteps").asInt(), n.get("samplingGuidance").asDouble(), n.get("eraseGuidance").asDouble(),
                    n.get("resolution").asInt(), checks, anchorPrompts);
        } catch (java.io.IOException | RuntimeException e) {
            if (e instanceof MembraneException me) throw me;
            throw new MembraneException(source + ": unreadable training spec in the checkpoint (" + e.getMessage() + ")");
        }
    }

    /** A builder starting from the official defaults. */
    public static Builder builder(List<String> concepts, int resolution) {
        return new Builder(officialDefaults(concepts, resolution));
    }

    /** Named settings over the official defaults (so no call site spells sixteen positional arguments). */
    public static final class Builder {
        private final List<String> concepts;
        private final int resolution;
        private final double samplingGuidance;
        private double eraseGuidance;
        private String surrogate;
        private int iterations;
        private long seed;
        private int rank;
        private float alpha;
        private double learningRate;
        private int warmup;
        private int cycles;
        private double anchorStrength;
        private int anchors;
        private int maxDenoisingSteps;
        private List<String> checkPrompts;
        private List<String> anchorPrompts;

        private Builder(TrainingSpec d) {
            concepts = d.concepts;
            resolution = d.resolution;
            samplingGuidance = d.samplingGuidance;
            eraseGuidance = d.eraseGuidance;
            surrogate = d.surrogate;
            iterations = d.iterations;
            seed = d.seed;
            rank = d.rank;
            alpha = d.alpha;
            learningRate = d.learningRate;
            warmup = d.warmup;
            cycles = d.cycles;
            anchorStrength = d.anchorStrength;
            anchors = d.anchors;
            maxDenoisingSteps = d.maxDenoisingSteps;
            checkPrompts = d.checkPrompts;
            anchorPrompts = d.anchorPrompts;
        }

        public Builder anchorPrompts(List<String> v) {
            anchorPrompts = v;
            return this;
        }

        public Builder surrogate(String v) {
            surrogate = v;
            return this;
        }

        public Builder iterations(int v) {
            iterations = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder rank(int r, float a) {
            rank = r;
            alpha = a;
            return this;
        }

        public Builder schedule(double lr, int warmupIterations, int restarts) {
            learningRate = lr;
            warmup = warmupIterations;
            cycles = restarts;
            return this;
        }

        public Builder anchoring(double strength, int count) {
            anchorStrength = strength;
            anchors = count;
            return this;
        }

        /** η of the erase target ε_neu − η·(ε_pos − ε_neu): the official config's guidance_scale. */
        public Builder eraseGuidance(double v) {
            eraseGuidance = v;
            return this;
        }

        public Builder maxDenoisingSteps(int v) {
            maxDenoisingSteps = v;
            return this;
        }

        /** Empty keeps the built-in prompts. */
        public Builder checkPrompts(List<String> v) {
            if (!v.isEmpty()) checkPrompts = v;
            return this;
        }

        public TrainingSpec build() {
            return new TrainingSpec(concepts, surrogate, iterations, seed, rank, alpha, learningRate, warmup, cycles,
                    anchorStrength, anchors, maxDenoisingSteps, samplingGuidance, eraseGuidance, resolution, checkPrompts,
                    anchorPrompts);
        }
    }
}
