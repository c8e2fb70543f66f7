package dev.membrane.diffusion.scheduler;

import java.util.Locale;

import dev.membrane.MembraneException;

/** The samplers Membrane implements, each with diffusers' semantics over the same {@link SchedulerConfig}. */
public enum SchedulerKind {
    /** PNDM's PLMS sampler with {@code skip_prk_steps} (the SD 1.x default). */
    PNDM("PNDMScheduler"),
    /** DDIM with eta = 0 (deterministic). */
    DDIM("DDIMScheduler"),
    /** Euler discrete with s_churn = 0 (deterministic), linear sigma interpolation. */
    EULER("EulerDiscreteScheduler");

    private final String diffusersClass;

    SchedulerKind(String diffusersClass) {
        this.diffusersClass = diffusersClass;
    }

    /** The diffusers class a {@code scheduler_config.json} names for this sampler ({@code _class_name}). */
    public String diffusersClass() {
        return diffusersClass;
    }

    public static SchedulerKind parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "pndm", "plms" -> PNDM;
            case "ddim" -> DDIM;
            case "euler", "euler_discrete" -> EULER;
            default -> throw new MembraneException("unknown scheduler '" + text + "' (pndm, ddim, euler)");
        };
    }

    /** The sampler a config's {@code _class_name} names, or PNDM for classes Membrane does not implement. */
    public static SchedulerKind ofConfig(SchedulerConfig config) {
        for (SchedulerKind k : values()) {
            if (k.diffusersClass.equals(config.className())) return k;
        }
        return PNDM;
    }

    public Scheduler create(SchedulerConfig config, int steps) {
        if (steps < 1 || steps > config.numTrainTimesteps()) {
            throw new MembraneException("steps must be between 1 and " + config.numTrainTimesteps() + ", got " + steps);
        }
        return switch (this) {
            case PNDM -> new PndmScheduler(config, steps);
            case DDIM -> new DdimScheduler(config, steps);
            case EULER -> new EulerDiscreteScheduler(config, steps);
        };
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
