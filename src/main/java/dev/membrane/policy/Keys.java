package dev.membrane.policy;

import java.util.Iterator;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import dev.membrane.MembraneException;

/** Refuses keys a policy mapping does not define: a misspelt {@code outputcheck} must not read as "no check". */
final class Keys {
    private Keys() {
    }

    static void only(String where, JsonNode mapping, String... allowed) {
        Set<String> known = Set.of(allowed);
        for (Iterator<String> it = mapping.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) throw new MembraneException(where + ": unknown key '" + k + "' (known: " + String.join(", ", allowed) + ")");
        }
    }
}
