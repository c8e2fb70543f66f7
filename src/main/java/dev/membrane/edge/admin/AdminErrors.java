package dev.membrane.edge.admin;

import java.util.Map;

/** The admin API's error bodies: {@code {"error": "..."}}. */
final class AdminErrors {
    private AdminErrors() {
    }

    static Map<String, String> body(String message) {
        return Map.of("error", message);
    }
}
