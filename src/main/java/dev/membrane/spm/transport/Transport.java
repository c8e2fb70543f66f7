package dev.membrane.spm.transport;

import java.util.Locale;

import dev.membrane.MembraneException;

/**
 * How an adapter's weight γ is chosen for a request.
 *
 * @param kind   facilitated (γ = factor · max over target prompts of max(s_f, s_t)) or fixed
 * @param value  the factor (facilitated) or γ itself (fixed)
 * @param minimum a floor for γ under facilitated transport (0 = none), so rewording cannot switch a concept off
 */
public record Transport(Kind kind, double value, double minimum) {
    public enum Kind { FACILITATED, FIXED }

    public Transport {
        if (!(value >= 0) || Double.isInfinite(value)) throw new MembraneException("transport value must be a finite number >= 0, got " + value);
        if (!(minimum >= 0)) throw new MembraneException("transport minimum must be >= 0, got " + minimum);
    }

    public static Transport facilitated(double factor) {
        return new Transport(Kind.FACILITATED, factor, 0);
    }

    public static Transport fixed(double gamma) {
        return new Transport(Kind.FIXED, gamma, 0);
    }

    /**
     * A command line's {@code FILE:WEIGHT} under {@code kind}: the fixed γ itself, or, as a catalog entry's factor does,
     * a per-adapter factor of Facilitated Transport multiplying the run's {@code factor}.
     */
    public static Transport weighted(Kind kind, double weight, double factor) {
        return kind == Kind.FIXED ? fixed(weight) : facilitated(factor * weight);
    }

    public Transport withMinimum(double min) {
        return new Transport(kind, value, min);
    }

    /**
     * A transport written as {@code {kind: fixed, gamma: G}} or {@code {kind: facilitated, factor: F}} (factor 1 by
     * default), either with an optional {@code minimum}; {@code where} names the document and entry in errors.
     */
    public static Transport fromJson(String where, com.fasterxml.jackson.databind.JsonNode t) {
        Kind kind = parseKind(t.path("kind").asText("facilitated"));
        Transport base;
        if (kind == Kind.FIXED) {
            if (!t.path("gamma").isNumber()) throw new MembraneException(where + ": a fixed transport needs a numeric 'gamma'");
            base = fixed(t.get("gamma").asDouble());
        } else {
            base = facilitated(t.path("factor").asDouble(1.0));
        }
        return base.withMinimum(t.path("minimum").asDouble(0));
    }

    public static Kind parseKind(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "facilitated" -> Kind.FACILITATED;
            case "fixed" -> Kind.FIXED;
            default -> throw new MembraneException("unknown transport '" + s + "' (facilitated, fixed)");
        };
    }
}
