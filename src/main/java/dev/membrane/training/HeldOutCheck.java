package dev.membrane.training;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import dev.membrane.training.twin.SiteAdapters;

/**
 * How well an SPM erases, on noise and timesteps the training never draws (a stream of its own): for a few states
 * x_t reached by the base model's own CFG trajectory, the relative distance of ε_spm(x_t, target) to the erase target
 * ε_neu − η(ε_pos − ε_neu), and how far ε moves for unrelated prompts compared with the target's own move.
 * The states and base predictions are fixed once, so before and after are measured on the same inputs.
 */
final class HeldOutCheck {
    private static final long SALT = 0x6865_6c64_6f75_74L; // "heldout"
    static final int SAMPLES = 4;

    private record State(int concept, float[] latent, double t, float[] positive, float[] eraseTarget, List<float[]> checks) {
    }

    /**
     * @param eraseDistance     ‖ε_spm(target) − erase target‖ / ‖erase target‖ over all samples
     * @param eraseUntrained    the same for the base model (an untrained SPM)
     * @param targetShift       ‖ε_spm(target) − ε_base(target)‖ / ‖ε_base(target)‖
     * @param unrelatedShifts   per check prompt, ‖ε_spm(p) − ε_base(p)‖ / ‖ε_base(p)‖
     * @param unrelatedToTarget per check prompt, ‖ε_spm(p) − ε_base(p)‖ / ‖ε_spm(target) − ε_base(target)‖
     */
    record Report(double eraseDistance, double eraseUntrained, double targetShift, List<Double> unrelatedShifts,
                  List<Double> unrelatedToTarget) {
        double reduction() {
            return eraseUntrained / eraseDistance;
        }

        double maxUnrelatedToTarget() {
            return unrelatedToTarget.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        }
    }

    private final TwinSampler sampler;
    private final Conditioning conditioning;
    private final List<State> states = new ArrayList<>();

    HeldOutCheck(TwinSampler sampler, Trajectory trajectory, Conditioning conditioning, TrainingSpec spec, NDManager m) {
        this.sampler = sampler;
        this.conditioning = conditioning;
        SplittableRandom r = new SplittableRandom(spec.seed() ^ SALT);
        double[] timesteps = sampler.trainingTimesteps();
        int total = spec.maxDenoisingSteps();
        for (int k = 0; k < SAMPLES; k++) {
            int concept = k % conditioning.targets().size();
            int tTo = 1 + r.nextInt(total - 1);
            float[] cond = conditioning.targets().get(concept);
            float[] latent = trajectory.denoise(Gaussian.fill(r, sampler.latentElements()), tTo, total, cond,
                    spec.samplingGuidance(), null);
            double t = timesteps[tTo * timesteps.length / total];
            List<float[]> contexts = new ArrayList<>();
            contexts.add(cond);
            contexts.add(conditioning.surrogate());
            contexts.addAll(conditioning.checks());
            float[] all = sampler.predictValues(m, latent, t, contexts, SiteAdapters.NONE);
            int n = sampler.latentElements();
            float[] pos = slice(all, 0, n);
            float[] target = sampler.eraseTarget(all, 0, 1, spec.eraseGuidance());
            List<float[]> checks = new ArrayList<>();
            for (int c = 0; c < conditioning.checks().size(); c++) checks.add(slice(all, 2 + c, n));
            states.add(new State(concept, latent, t, pos, target, checks));
        }
    }

    Report measure(NDManager m, SiteAdapters spm) {
        double erase = 0, eraseNorm = 0, untrained = 0, shift = 0, posNorm = 0;
        int checks = conditioning.checks().size();
        double[] moved = new double[checks];
        double[] baseNorm = new double[checks];
        int n = sampler.latentElements();
        for (State s : states) {
            List<float[]> contexts = new ArrayList<>();
            contexts.add(conditioning.targets().get(s.concept()));
            contexts.addAll(conditioning.checks());
            float[] all = sampler.predictValues(m, s.latent(), s.t(), contexts, spm);
            float[] tgt = slice(all, 0, n);
            erase += squaredDistance(tgt, s.eraseTarget());
            eraseNorm += squaredNorm(s.eraseTarget());
            untrained += squaredDistance(s.positive(), s.eraseTarget());
            shift += squaredDistance(tgt, s.positive());
            posNorm += squaredNorm(s.positive());
            for (int c = 0; c < checks; c++) {
                moved[c] += squaredDistance(slice(all, 1 + c, n), s.checks().get(c));
                baseNorm[c] += squaredNorm(s.checks().get(c));
            }
        }
        List<Double> shifts = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        for (int c = 0; c < checks; c++) {
            shifts.add(Math.sqrt(moved[c] / baseNorm[c]));
            ratios.add(shift == 0 ? 0 : Math.sqrt(moved[c] / shift));
        }
        return new Report(Math.sqrt(erase / eraseNorm), Math.sqrt(untrained / eraseNorm), Math.sqrt(shift / posNorm), shifts, ratios);
    }

    private static float[] slice(float[] all, int index, int n) {
        float[] out = new float[n];
        System.arraycopy(all, index * n, out, 0, n);
        return out;
    }

    private static double squaredDistance(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (a[i] - b[i]) * (double) (a[i] - b[i]);
        return s;
    }

    private static double squaredNorm(float[] a) {
        double s = 0;
        for (float x : a) s += x * (double) x;
        return s;
    }
}
