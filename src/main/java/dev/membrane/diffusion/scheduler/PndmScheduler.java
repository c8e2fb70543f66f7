package dev.membrane.diffusion.scheduler;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code PNDMScheduler} with {@code skip_prk_steps} (PLMS only): a linear multistep method over past
 * model outputs. For n inference steps it makes n + 1 UNet calls: the second timestep is visited twice, the
 * second visit averaging the first two outputs from the first sample (diffusers' warm-up).
 */
final class PndmScheduler extends DiscreteScheduler {
    private final double[] timesteps;
    private final List<float[]> ets = new ArrayList<>();
    private int counter;
    private float[] curSample;

    PndmScheduler(SchedulerConfig config, int steps) {
        super(config, steps);
        long[] desc = descending;
        if (steps == 1) {
            timesteps = new double[] {desc[0]};
        } else {
            timesteps = new double[steps + 1];
            timesteps[0] = desc[0];
            for (int i = 1; i < steps; i++) timesteps[i + 1] = desc[i];
            timesteps[1] = desc[1];
        }
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public float[] step(float[] modelOutput, int index, float[] sample) {
        int t = (int) timesteps[index];
        int prev = t - stepRatio;
        if (counter != 1) {
            while (ets.size() > 3) ets.remove(0);
            ets.add(modelOutput);
        } else {
            prev = t;
            t = t + stepRatio;
        }
        float[] eps;
        float[] x = sample;
        int n = ets.size();
        if (n == 1 && counter == 0) {
            eps = modelOutput;
            curSample = sample;
        } else if (n == 1 && counter == 1) {
            eps = combine(new double[] {0.5, 0.5}, modelOutput, ets.get(0));
            x = curSample;
            curSample = null;
        } else if (n == 2) {
            eps = combine(new double[] {1.5, -0.5}, ets.get(1), ets.get(0));
        } else if (n == 3) {
            eps = combine(new double[] {23 / 12.0, -16 / 12.0, 5 / 12.0}, ets.get(2), ets.get(1), ets.get(0));
        } else {
            eps = combine(new double[] {55 / 24.0, -59 / 24.0, 37 / 24.0, -9 / 24.0},
                    ets.get(3), ets.get(2), ets.get(1), ets.get(0));
        }
        float[] out = prevSample(x, t, prev, eps);
        counter++;
        return out;
    }

    private static float[] combine(double[] coefficients, float[]... terms) {
        float[] out = new float[terms[0].length];
        for (int i = 0; i < out.length; i++) {
            double v = 0;
            for (int k = 0; k < terms.length; k++) v += coefficients[k] * terms[k][i];
            out[i] = (float) v;
        }
        return out;
    }

    /** PNDM's transfer formula (diffusers {@code _get_prev_sample}, eq. (9) of the PNDM paper). */
    private float[] prevSample(float[] sample, int t, int prev, float[] modelOutput) {
        double a = schedule.alphaCumprod(t);
        double aPrev = alphaAt(prev);
        double b = 1 - a;
        double bPrev = 1 - aPrev;
        double sampleCoeff = Math.sqrt(aPrev / a);
        double denom = a * Math.sqrt(bPrev) + Math.sqrt(a * b * aPrev);
        float[] out = new float[sample.length];
        boolean v = config.predictionType().equals("v_prediction");
        for (int i = 0; i < out.length; i++) {
            double eps = v ? Math.sqrt(a) * modelOutput[i] + Math.sqrt(b) * sample[i] : modelOutput[i];
            out[i] = (float) (sampleCoeff * sample[i] - (aPrev - a) * eps / denom);
        }
        return out;
    }
}
