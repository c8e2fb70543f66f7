package dev.membrane.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** diffusers' cosine-with-hard-restarts schedule, by hand: warm-up 500, 3000 iterations, 3 cycles, lr 1e-4. */
class LearningRateScheduleTest {
    private final LearningRateSchedule s = new LearningRateSchedule(1e-4, 500, 3000, 3);

    @Test
    void warmsUpLinearlyFromZero() {
        assertEquals(0, s.at(0), 0);
        assertEquals(1e-4 * 250 / 500, s.at(250), 1e-18);
        assertEquals(1e-4 * 499 / 500, s.at(499), 1e-18);
    }

    @Test
    void restartsThreeTimes() {
        // progress p = (i - 500) / 2500; lr = 0.5 (1 + cos(pi ((3 p) mod 1)))
        assertEquals(1e-4, s.at(500), 1e-18);
        double p = (1000 - 500) / 2500.0;
        assertEquals(1e-4 * 0.5 * (1 + Math.cos(Math.PI * ((3 * p) % 1))), s.at(1000), 1e-18);
        // the first restart: p = 1/3 → back to the base rate
        assertEquals(1e-4, s.at(500 + 2500 / 3 + 1), 2e-7);
        assertEquals(true, s.at(500 + 2500 / 3 - 1) < 1e-7, "just before a restart the rate is near 0");
        assertEquals(0, s.at(3000), 0);
    }
}
