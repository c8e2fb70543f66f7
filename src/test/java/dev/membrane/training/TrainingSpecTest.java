package dev.membrane.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.membrane.MembraneException;

class TrainingSpecTest {
    @Test
    void eraseGuidanceDefaultsToTheOfficialOneAndIsValidated() {
        assertEquals(1.0, TrainingSpec.builder(List.of("circle"), 64).build().eraseGuidance());
        TrainingSpec three = TrainingSpec.builder(List.of("circle"), 64).eraseGuidance(3).build();
        assertEquals(3.0, three.eraseGuidance());
        assertEquals(three.samplingGuidance(), TrainingSpec.officialDefaults(List.of("circle"), 64).samplingGuidance(), "only η changes");
        for (double bad : new double[] {-1, Double.NaN, Double.POSITIVE_INFINITY}) {
            MembraneException e = assertThrows(MembraneException.class, () -> TrainingSpec.builder(List.of("circle"), 64).eraseGuidance(bad).build());
            assertTrue(e.getMessage().contains("--erase-guidance"), e.getMessage());
        }
    }
}
