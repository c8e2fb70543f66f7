package dev.membrane.spm;

import java.util.Locale;

import dev.membrane.MembraneException;

/**
 * How several SPMs on one sample combine, and therefore which power of γ reaches the weights ({@link #gammaPower}).
 * γ here is whatever the transport produced: a fixed γ, or factor · max(s_f, s_t) with its minimum applied.
 */
public enum StackingMode {
    /**
     * The paper's Eq. 9: ΔW = Σ_c γ_c (alpha_c / r_c) U_c D_c, <b>linear in γ</b> (power 1). Each adapter takes its
     * own slots.
     */
    LINEAR,
    /**
     * The official inference code ({@code infer_spm.py}), which multiplies every tensor of every SPM by its γ and
     * sums them, {@code lora_down} and {@code lora_up} alike: ΔW = (alpha / r) (Σ_c γ_c U_c)(Σ_c γ_c D_c),
     * <b>quadratic in γ</b> (power 2). A single adapter therefore acts with γ² (alpha / r) U D, so a fixed γ, a
     * transport factor and a transport minimum are all squared too; a stack adds cross terms γ_a γ_b U_a D_b.
     * alpha / r is the first adapter's; Membrane refuses stacks whose ranks or alphas differ. Takes r slots.
     */
    OFFICIAL;

    public static StackingMode parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "linear" -> LINEAR;
            case "official" -> OFFICIAL;
            default -> throw new MembraneException("unknown stacking '" + s + "' (linear, official)");
        };
    }

    /** The power of γ in ΔW: 1 (linear) or 2 (official); audit records report it next to the mode. */
    public int gammaPower() {
        return this == LINEAR ? 1 : 2;
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
