package dev.membrane.diffusion.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.testing.SharedReference;

/**
 * Samplers against values computed independently (numpy, float64: alphas_cumprod from scaled_linear betas, the
 * timestep lists diffusers gives) and against the closed form of an exact noise predictor.
 */
class SchedulerTest {
    private static final SchedulerConfig SD15 = SchedulerConfig.sd15Default();

    private static SchedulerConfig withSpacing(String spacing, int offset) {
        return new SchedulerConfig("PNDMScheduler", 1000, 0.00085, 0.012, "scaled_linear", "epsilon", spacing, offset,
                false, true, false, 1.0);
    }

    @Test
    void alphasCumprodMatchNumpy() {
        NoiseSchedule s = new NoiseSchedule(SD15);
        assertEquals(0.99915, s.alphaCumprod(0), 1e-12);
        assertEquals(0.9982960278384514, s.alphaCumprod(1), 1e-12);
        assertEquals(0.2763326838229746, s.alphaCumprod(500), 1e-12);
        assertEquals(0.004660098513077238, s.alphaCumprod(999), 1e-12);
    }

    @Test
    void timestepListsPerSpacing() {
        double[] leading = SchedulerKind.DDIM.create(SD15, 50).timesteps();
        assertEquals(50, leading.length);
        assertEquals(981, leading[0]);
        assertEquals(961, leading[1]);
        assertEquals(1, leading[49]);
        assertArrayEquals(new double[] {999, 888, 777, 666, 555, 444, 333, 222, 111, 0},
                SchedulerKind.DDIM.create(withSpacing("linspace", 0), 10).timesteps());
        assertArrayEquals(new double[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99},
                SchedulerKind.DDIM.create(withSpacing("trailing", 0), 10).timesteps());
    }

    @Test
    void pndmRepeatsTheSecondTimestep() {
        double[] t = SchedulerKind.PNDM.create(SD15, 50).timesteps();
        assertEquals(51, t.length);
        assertEquals(981, t[0]);
        assertEquals(961, t[1]);
        assertEquals(961, t[2]);
        assertEquals(941, t[3]);
        assertEquals(1, t[50]);
        assertEquals(1, SchedulerKind.PNDM.create(SD15, 1).timesteps().length);
    }

    @Test
    void eulerSigmasAndInitNoise() {
        EulerDiscreteScheduler linspace = (EulerDiscreteScheduler) SchedulerKind.EULER.create(withSpacing("linspace", 0), 7);
        assertArrayEquals(new double[] {999, 832.5, 666, 499.5, 333, 166.5, 0}, linspace.timesteps(), 1e-9);
        assertEquals(14.614641229333639, linspace.sigmas()[0], 1e-9);
        assertEquals(5.948916172611938, linspace.sigmas()[1], 1e-9);
        assertEquals(0.0, linspace.sigmas()[7]);
        assertEquals(14.614641229333639, linspace.initNoiseSigma(), 1e-9);
        Scheduler leading = SchedulerKind.EULER.create(SD15, 10);
        assertEquals(8.450064550829065, leading.initNoiseSigma(), 1e-9);
    }

    /**
     * With a model that predicts the true noise ε of x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε, DDIM and PNDM's transfer
     * move exactly along that line (PLMS weights sum to 1), so the last sample is sqrt(ᾱ_0)·x0 + sqrt(1 − ᾱ_0)·ε
     * (set_alpha_to_one = false); Euler in σ-space ends at x0 exactly.
     */
    @Test
    void exactNoisePredictorLandsOnTheCleanSample() {
        Random r = new Random(3);
        int n = 64;
        float[] x0 = new float[n];
        float[] eps = new float[n];
        for (int i = 0; i < n; i++) {
            x0[i] = (float) r.nextGaussian();
            eps[i] = (float) r.nextGaussian();
        }
        NoiseSchedule schedule = new NoiseSchedule(SD15);
        for (SchedulerKind kind : new SchedulerKind[] {SchedulerKind.DDIM, SchedulerKind.PNDM}) {
            Scheduler s = kind.create(SD15, 20);
            double aT = schedule.alphaCumprod((int) s.timesteps()[0]);
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) (Math.sqrt(aT) * x0[i] + Math.sqrt(1 - aT) * eps[i]);
            for (int k = 0; k < s.timesteps().length; k++) x = s.step(eps, k, s.scaleModelInput(x, k));
            double a0 = schedule.alphaCumprod(0);
            for (int i = 0; i < n; i++) {
                assertEquals(Math.sqrt(a0) * x0[i] + Math.sqrt(1 - a0) * eps[i], x[i], 2e-4, kind + " element " + i);
            }
        }
        Scheduler euler = SchedulerKind.EULER.create(SD15, 20);
        double sigmaMax = ((EulerDiscreteScheduler) euler).sigmas()[0];
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (x0[i] + sigmaMax * eps[i]);
        for (int k = 0; k < euler.timesteps().length; k++) x = euler.step(eps, k, x);
        for (int i = 0; i < n; i++) assertEquals(x0[i], x[i], 1e-4, "euler element " + i);
    }

    /** One DDIM step by hand: x_prev = sqrt(ᾱ_prev)·x0_hat + sqrt(1 − ᾱ_prev)·ε. */
    @Test
    void ddimStepByHand() {
        Scheduler s = SchedulerKind.DDIM.create(SD15, 50);
        NoiseSchedule schedule = new NoiseSchedule(SD15);
        double a = schedule.alphaCumprod(981);
        double aPrev = schedule.alphaCumprod(961);
        float[] x = {0.5f, -1.25f};
        float[] e = {0.3f, 0.7f};
        float[] out = s.step(e, 0, x);
        for (int i = 0; i < 2; i++) {
            double x0 = (x[i] - Math.sqrt(1 - a) * e[i]) / Math.sqrt(a);
            assertEquals(Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev) * e[i], out[i], 1e-5);
        }
    }

    @Test
    void loadsTheSd15ExportConfig() {
        SchedulerConfig c = SchedulerConfig.load(SharedReference.require("sd15-scheduler/scheduler_config.json"));
        assertEquals(SD15, c);
        assertEquals(SchedulerKind.PNDM, SchedulerKind.ofConfig(c));
    }

    @Test
    void rejectsWhatItCannotHonour(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("scheduler_config.json");
        Files.writeString(f, "{\"beta_schedule\": \"squaredcos_cap_v2\"}");
        MembraneException e = assertThrows(MembraneException.class, () -> SchedulerConfig.load(f));
        assertTrue(e.getMessage().contains("squaredcos_cap_v2") && e.getMessage().contains(f.toString()), e.getMessage());
        assertThrows(MembraneException.class, () -> SchedulerKind.parse("lms"));
        assertThrows(MembraneException.class, () -> SchedulerKind.DDIM.create(SD15, 0));
    }
}
