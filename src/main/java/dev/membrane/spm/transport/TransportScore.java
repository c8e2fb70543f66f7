package dev.membrane.spm.transport;

/**
 * Facilitated Transport's evidence for one adapter and one prompt, and the γ it gave.
 *
 * @param sf    max over the adapter's target prompts of the embedding cosine s_f (NaN under fixed transport)
 * @param st    max over target prompts of the token overlap s_t (NaN under fixed transport)
 * @param gamma the weight applied
 */
public record TransportScore(double sf, double st, double gamma) {
}
