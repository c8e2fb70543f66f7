package dev.membrane.spm;

/**
 * An adapter applied to one sample with weight γ (from Facilitated Transport or fixed).
 *
 * @param file  the SPM
 * @param gamma γ
 */
public record AppliedAdapter(SpmFile file, double gamma) {
}
