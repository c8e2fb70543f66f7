package dev.membrane.gateway.outcome;

/**
 * An adapter as applied to a request's images, as the audit reports it: which concept, which file, and the
 * Facilitated Transport scores that chose its γ.
 */
public record Applied(String concept, String category, String sha256, int rank, double sf, double st, double gamma) {
}
