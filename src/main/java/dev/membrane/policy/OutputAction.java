package dev.membrane.policy;

import java.util.Locale;

import dev.membrane.MembraneException;

/** What an output-check rule does when its label's score reaches the threshold, mildest first. */
public enum OutputAction {
    /** Recorded in the audit only. */
    ALLOW,
    /** Published, marked flagged in the result and the audit. */
    FLAG,
    /** Not published: status BLOCKED, no image bytes. */
    BLOCK;

    /** As policies and records spell it (and JSON writes it). */
    @com.fasterxml.jackson.annotation.JsonValue
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static OutputAction parse(String where, String s) {
        for (OutputAction a : values()) if (a.id().equals(s)) return a;
        throw new MembraneException(where + ": action '" + s + "' is not block, flag or allow");
    }
}
