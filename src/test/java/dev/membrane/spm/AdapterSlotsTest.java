package dev.membrane.spm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The ΔW the slots carry, against values worked out by hand from the two stacking formulas (no shared helper): the
 * power of γ is the point, so every expected matrix is written out.
 */
class AdapterSlotsTest {
    private static final AdapterSite LIN = new AdapterSite("lora_unet_a_attn2_to_k", "a.attn2.to_k", AdapterSite.Kind.MATMUL, "n1", "w1", 2, 2);
    private static final AdapterSite CONV = new AdapterSite("lora_unet_a_proj_in", "a.proj_in", AdapterSite.Kind.CONV, "n2", "w2", 2, 2);
    private static final SlotLayout LAYOUT = SlotLayout.of(List.of(LIN, CONV), 4, "float");

    /** A rank-1 adapter with U = up [2x1], D = down [1x2] on both sites, read back from its bytes. */
    private static SpmFile rank1(float[] down, float[] up, float alpha) {
        List<SpmModule> m = List.of(new SpmModule(LIN.key(), down, up, 1, 2, 2, alpha), new SpmModule(CONV.key(), down, up, 1, 2, 2, alpha));
        return SpmFile.parse("test", SpmFile.serialize(List.of("c"), List.of(LIN, CONV), m));
    }

    // A: U = [3, -1]ᵀ, D = [1, 2], alpha/r = 0.5, so U·D = [[3, 6], [-1, -2]]
    private static final SpmFile A = rank1(new float[] {1, 2}, new float[] {3, -1}, 0.5f);
    // B: U = [1, 1]ᵀ, D = [0, 1], alpha/r = 0.5, so U·D = [[0, 1], [0, 1]]
    private static final SpmFile B = rank1(new float[] {0, 1}, new float[] {1, 1}, 0.5f);

    /** ΔW[o][i] of row 0 at a site, from the packed slots. */
    static double[][] delta(SlotLayout layout, AdapterSlots s, AdapterSite site) {
        SlotLayout.PlacedSite p = layout.sites().stream().filter(x -> x.site().equals(site)).findFirst().orElseThrow();
        int k = layout.slots();
        double[][] d = new double[site.out()][site.in()];
        for (int o = 0; o < site.out(); o++) {
            for (int i = 0; i < site.in(); i++) {
                for (int j = 0; j < k; j++) {
                    d[o][i] += site.kind() == AdapterSite.Kind.MATMUL
                            ? s.linearDown()[(p.inOffset() + i) * k + j] * s.linearUp()[j * layout.linearOut() + p.outOffset() + o]
                            : s.convUp()[(p.outOffset() + o) * k + j] * s.convDown()[j * layout.convIn() + p.inOffset() + i];
                }
            }
        }
        return d;
    }

    private static void assertDelta(double[][] expected, List<AppliedAdapter> stack, StackingMode mode) {
        AdapterSlots s = AdapterSlots.fill(LAYOUT, List.of(stack), mode);
        for (AdapterSite site : List.of(LIN, CONV)) {
            double[][] actual = delta(LAYOUT, s, site);
            for (int o = 0; o < expected.length; o++) assertArrayEquals(expected[o], actual[o], 1e-6, mode + " " + site.kind() + " row " + o);
        }
    }

    @Test
    void linearAppliesGammaToThePowerOne() {
        // 2 · 0.5 · U·D
        assertDelta(new double[][] {{3, 6}, {-1, -2}}, List.of(new AppliedAdapter(A, 2)), StackingMode.LINEAR);
        // 2 · 0.5 · U_A·D_A + 3 · 0.5 · U_B·D_B
        assertDelta(new double[][] {{3, 7.5}, {-1, -0.5}}, List.of(new AppliedAdapter(A, 2), new AppliedAdapter(B, 3)), StackingMode.LINEAR);
    }

    @Test
    void officialAppliesGammaSquaredToASingleAdapter() {
        // (2 U)(2 D) · 0.5 = 2² · 0.5 · U·D
        assertDelta(new double[][] {{6, 12}, {-2, -4}}, List.of(new AppliedAdapter(A, 2)), StackingMode.OFFICIAL);
        // γ < 1 shrinks faster than linearly: 0.5² · 0.5 · U·D
        assertDelta(new double[][] {{0.375, 0.75}, {-0.125, -0.25}}, List.of(new AppliedAdapter(A, 0.5)), StackingMode.OFFICIAL);
    }

    @Test
    void officialStackIsTheProductOfTheWeightedFactorSums() {
        // Σγ U = 2 [3, -1] + 3 [1, 1] = [9, 1]; Σγ D = 2 [1, 2] + 3 [0, 1] = [2, 7]; ΔW = 0.5 · [9, 1]ᵀ [2, 7]
        assertDelta(new double[][] {{9, 31.5}, {1, 3.5}}, List.of(new AppliedAdapter(A, 2), new AppliedAdapter(B, 3)), StackingMode.OFFICIAL);
        // not the sum of γ² terms (that would be [[6, 16.5], [-2, 0.5]]): the cross terms γ_a γ_b U_a D_b are there
    }

    /** A file written with alpha 0 acts with alpha = rank (scale 1), as the official code reads it, not scale 0. */
    @Test
    void alphaZeroScalesByOne() {
        SpmFile zero = rank1(new float[] {1, 2}, new float[] {3, -1}, 0f);
        assertEquals(1f, zero.alpha());
        // linear: 2 · 1 · U·D; official: 2² · 1 · U·D
        assertDelta(new double[][] {{6, 12}, {-2, -4}}, List.of(new AppliedAdapter(zero, 2)), StackingMode.LINEAR);
        assertDelta(new double[][] {{12, 24}, {-4, -8}}, List.of(new AppliedAdapter(zero, 2)), StackingMode.OFFICIAL);
        // alpha 0 at rank 1 is alpha 1, so it stacks officially with an alpha-1 adapter, and not with an alpha-0.5 one
        SpmFile one = rank1(new float[] {0, 1}, new float[] {1, 1}, 1f);
        assertEquals(-1, AdapterSlots.officialMismatch(List.of(zero, one)));
        assertEquals(1, AdapterSlots.officialMismatch(List.of(zero, A)));
    }

    @Test
    void gammaPowerNamesTheExponent() {
        assertEquals(1, StackingMode.LINEAR.gammaPower());
        assertEquals(2, StackingMode.OFFICIAL.gammaPower());
    }
}
