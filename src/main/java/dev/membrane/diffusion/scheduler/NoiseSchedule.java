package dev.membrane.diffusion.scheduler;

/**
 * The training noise schedule: betas and their cumulative alpha products.
 * {@code scaled_linear}: betas = linspace(sqrt(beta_start), sqrt(beta_end), T)²; {@code linear}: linspace(beta_start,
 * beta_end, T). alphas_cumprod[t] = Π_{s≤t} (1 - betas[s]). Computed in double precision.
 */
public final class NoiseSchedule {
    private final double[] alphasCumprod;

    NoiseSchedule(SchedulerConfig config) {
        int n = config.numTrainTimesteps();
        double[] betas = new double[n];
        boolean scaled = config.betaSchedule().equals("scaled_linear");
        double start = scaled ? Math.sqrt(config.betaStart()) : config.betaStart();
        double end = scaled ? Math.sqrt(config.betaEnd()) : config.betaEnd();
        for (int i = 0; i < n; i++) {
            double v = start + (end - start) * i / (n - 1);
            betas[i] = scaled ? v * v : v;
        }
        alphasCumprod = new double[n];
        double prod = 1.0;
        for (int i = 0; i < n; i++) {
            prod *= 1.0 - betas[i];
            alphasCumprod[i] = prod;
        }
    }

    public double alphaCumprod(int t) {
        return alphasCumprod[t];
    }

    public int size() {
        return alphasCumprod.length;
    }
}
