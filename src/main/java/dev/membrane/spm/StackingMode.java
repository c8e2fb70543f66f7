package dev.membrane.spm;

import java.util.Locale;

import dev.membrane.MembraneException;

/** How several SPMs on one sample combine. */
public enum StackingMode {
    /** The paper's Eq. 9: ΔW = Σ_c γ_c (alpha_c / r_c) U_c D_c. Each adapter takes its own slots. */
    LINEAR,
    /**
     * The official inference code: both factors are scaled and summed, ΔW = (Σ_c γ_c U_c)(Σ_c γ_c D_c) · alpha / r,
     * quadratic in γ with cross terms. Needs equal rank and alpha across the stack; takes r slots.
     */
    OFFICIAL;

    public static StackingMode parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "linear" -> LINEAR;
            case "official" -> OFFICIAL;
            default -> throw new MembraneException("unknown stacking '" + s + "' (linear, official)");
        };
    }

    /** Rank-1 slots a stack of adapters with these ranks takes: the sum (linear) or the common rank (official). */
    public int slotsNeeded(java.util.List<Integer> ranks) {
        return this == LINEAR ? ranks.stream().mapToInt(Integer::intValue).sum()
                : ranks.stream().mapToInt(Integer::intValue).max().orElse(0);
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
