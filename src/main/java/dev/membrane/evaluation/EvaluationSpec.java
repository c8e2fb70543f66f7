package dev.membrane.evaluation;

import java.nio.file.Path;
import java.util.List;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.transport.Transport;

/**
 * What {@link Evaluator#run} measures. With no adapters it measures fidelity; with adapters, erasure of each concept
 * their prompts name and preservation of the others.
 *
 * @param model           model folder (diffusers ONNX layout)
 * @param adapters        the stack applied to every moderated image (empty: fidelity)
 * @param transport       how each adapter's γ is chosen
 * @param transportFactor Facilitated Transport's factor
 * @param stacking        linear or official
 * @param seeds           seeds per prompt: {@code firstSeed}, {@code firstSeed + 1}, …
 * @param firstSeed       the first seed
 * @param steps           inference steps
 * @param guidance        classifier-free guidance scale
 * @param batchImages     images per UNet call
 * @param size            image side in pixels; 0: the reference preset's size, else 64 (the shapes world's)
 * @param classifier      the shapes classifier ONNX file
 * @param slots           slots of the prepared UNet when it must be prepared
 * @param scheduler       the sampler; null: the model's {@code scheduler_config.json}
 */
public record EvaluationSpec(Path model, List<AdapterSpec> adapters, Transport.Kind transport, double transportFactor,
                             StackingMode stacking, int seeds, long firstSeed, int steps, double guidance, int batchImages,
                             int size, Path classifier, int slots, SchedulerKind scheduler) {
    public static final int DEFAULT_SEEDS = 8;
    public static final int DEFAULT_STEPS = 30;
    public static final double DEFAULT_GUIDANCE = 7.5;
    public static final int DEFAULT_BATCH = 8;
    public static final Path DEFAULT_CLASSIFIER = Path.of("models", "shapes", "classifier.onnx");

    public EvaluationSpec {
        adapters = List.copyOf(adapters);
        if (seeds < 1) throw new MembraneException("--seeds must be at least 1, got " + seeds);
        if (steps < 1) throw new MembraneException("--steps must be at least 1, got " + steps);
        if (batchImages < 1) throw new MembraneException("--batch must be at least 1, got " + batchImages);
        if (size < 0 || size % 8 != 0) throw new MembraneException("--size must be a positive multiple of 8, got " + size);
    }

    /** The defaults of the {@code evaluate} command: fidelity, 8 seeds from 0, 30 steps, guidance 7.5. */
    public static EvaluationSpec of(Path model, Path classifier) {
        return new EvaluationSpec(model, List.of(), Transport.Kind.FACILITATED, 1.0, StackingMode.LINEAR, DEFAULT_SEEDS, 0,
                DEFAULT_STEPS, DEFAULT_GUIDANCE, DEFAULT_BATCH, 0, classifier, 8, null);
    }

    public EvaluationSpec withAdapters(List<AdapterSpec> a, Transport.Kind kind, StackingMode mode) {
        return new EvaluationSpec(model, a, kind, transportFactor, mode, seeds, firstSeed, steps, guidance, batchImages, size, classifier, slots, scheduler);
    }

    public EvaluationSpec withSampling(int seedCount, long first, int stepCount, double guidanceScale) {
        return new EvaluationSpec(model, adapters, transport, transportFactor, stacking, seedCount, first, stepCount, guidanceScale,
                batchImages, size, classifier, slots, scheduler);
    }

    public EvaluationSpec withBatch(int images) {
        return new EvaluationSpec(model, adapters, transport, transportFactor, stacking, seeds, firstSeed, steps, guidance, images,
                size, classifier, slots, scheduler);
    }

    /** Samples with {@code kind} instead of the model's scheduler (null: the model's). */
    public EvaluationSpec withScheduler(SchedulerKind kind) {
        return new EvaluationSpec(model, adapters, transport, transportFactor, stacking, seeds, firstSeed, steps, guidance, batchImages,
                size, classifier, slots, kind);
    }

    public EvaluationSpec withTransportFactor(double factor) {
        return new EvaluationSpec(model, adapters, transport, factor, stacking, seeds, firstSeed, steps, guidance, batchImages,
                size, classifier, slots, scheduler);
    }

    public EvaluationSpec withSize(int side, int slotCount) {
        return new EvaluationSpec(model, adapters, transport, transportFactor, stacking, seeds, firstSeed, steps, guidance,
                batchImages, side, classifier, slotCount, scheduler);
    }

    public boolean fidelity() {
        return adapters.isEmpty();
    }

    /**
     * An adapter file and its weight: the fixed γ under fixed transport, a factor under facilitated
     * ({@link Transport#weighted}).
     */
    public record AdapterSpec(Path file, double weight) {
        /** {@code FILE[:WEIGHT]}: a trailing {@code :number} is the weight (default 1). */
        public static AdapterSpec parse(String spec) {
            int colon = spec.lastIndexOf(':');
            if (colon > 0) {
                try {
                    return new AdapterSpec(Path.of(spec.substring(0, colon)), Double.parseDouble(spec.substring(colon + 1)));
                } catch (NumberFormatException e) {
                    // a colon that is part of the path
                }
            }
            return new AdapterSpec(Path.of(spec), 1.0);
        }
    }
}
