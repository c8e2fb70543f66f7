package dev.membrane.testing;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assumptions;

/**
 * Locates {@code ../shared/reference}, which developers and CI have beside the project and other clones do not.
 * Tests that need it call {@link #require(String)}, which skips (not fails) when it is absent.
 */
public final class SharedReference {
    private SharedReference() {
    }

    public static Path root() {
        String env = System.getenv("MEMBRANE_SHARED_REFERENCE");
        Path p = env != null ? Path.of(env) : Path.of("..", "shared", "reference");
        return p.toAbsolutePath().normalize();
    }

    /** The path under the reference folder, or a skipped test when it is not there. */
    public static Path require(String relative) {
        Path p = root().resolve(relative);
        Assumptions.assumeTrue(Files.exists(p), () -> "shared reference data absent: " + p);
        return p;
    }
}
