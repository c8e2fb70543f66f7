package dev.membrane.diffusion.scheduler;

import dev.membrane.MembraneException;

/** diffusers' {@code timestep_spacing}: how inference timesteps are picked from the training range. */
public enum TimestepSpacing {
    LEADING, LINSPACE, TRAILING;

    static TimestepSpacing parse(String text, String source) {
        return switch (text) {
            case "leading" -> LEADING;
            case "linspace" -> LINSPACE;
            case "trailing" -> TRAILING;
            default -> throw new MembraneException(source + ": timestep_spacing '" + text
                    + "' is not supported (leading, linspace, trailing)");
        };
    }

    /**
     * Integer timesteps in descending order, as DDIM and PNDM compute them:
     * leading {@code arange(n) * (T // n) + offset}; linspace {@code round(linspace(0, T-1, n))};
     * trailing {@code round(arange(T, 0, -T/n)) - 1}.
     */
    static long[] integerTimesteps(TimestepSpacing spacing, int trainSteps, int steps, int offset) {
        long[] t = new long[steps];
        switch (spacing) {
            case LEADING -> {
                int ratio = trainSteps / steps;
                for (int i = 0; i < steps; i++) t[steps - 1 - i] = (long) i * ratio + offset;
            }
            case LINSPACE -> {
                for (int i = 0; i < steps; i++) {
                    double v = steps == 1 ? 0 : (double) i * (trainSteps - 1) / (steps - 1);
                    t[steps - 1 - i] = Math.round(Math.rint(v));
                }
            }
            case TRAILING -> {
                double ratio = (double) trainSteps / steps;
                for (int i = 0; i < steps; i++) t[i] = (long) Math.rint(trainSteps - i * ratio) - 1;
            }
        }
        return t;
    }
}
