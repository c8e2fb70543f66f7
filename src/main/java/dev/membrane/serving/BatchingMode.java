package dev.membrane.serving;

import java.util.Locale;

import dev.membrane.MembraneException;

/** How a {@link DenoisingBatch} takes in requests. */
public enum BatchingMode {
    /**
     * Requests join the running batch at any step boundary and leave as soon as their last step is done; every
     * sample keeps its own timestep, so the UNet must take one timestep per row.
     */
    CONTINUOUS,
    /**
     * A batch forms, runs every step together, and only then does the next one form (the gateway's behaviour
     * before continuous batching): its requests share size, steps and scheduler.
     */
    STATIC;

    public static BatchingMode parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "continuous" -> CONTINUOUS;
            case "static" -> STATIC;
            default -> throw new MembraneException("unknown batching mode '" + text + "' (continuous, static)");
        };
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
