package dev.membrane.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the output-check tests find what {@code .ci/run} fetches into the cache folder
 * ({@code MEMBRANE_CACHE}, default {@code ~/.cache/membrane}): the nsfwjs tarball, the Node modules of the TF.js
 * reference, and scikit-image's sample photographs. Tests that need one skip cleanly without it.
 */
public final class SafetyFixtures {
    private SafetyFixtures() {
    }

    public static Path cache() {
        String env = System.getenv("MEMBRANE_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "membrane");
    }

    /** npm pack's nsfwjs-4.4.0.tgz. */
    public static Optional<Path> nsfwjsTarball() {
        return existing(cache().resolve("nsfwjs-4.4.0.tgz"));
    }

    /** node_modules holding nsfwjs, @tensorflow/tfjs and pngjs. */
    public static Optional<Path> nodeModules() {
        Path p = cache().resolve("node").resolve("node_modules");
        return Files.isDirectory(p.resolve("@tensorflow").resolve("tfjs")) && Files.isDirectory(p.resolve("nsfwjs"))
                && Files.isDirectory(p.resolve("pngjs")) ? Optional.of(p) : Optional.empty();
    }

    /** python3-skimage's skimage/data folder, unpacked from the Debian package. */
    public static Optional<Path> skimageData() {
        for (Path p : new Path[] {cache().resolve("skimage").resolve("data"), Path.of("/usr/lib/python3/dist-packages/skimage/data")}) {
            if (Files.isRegularFile(p.resolve("astronaut.png"))) return Optional.of(p);
        }
        return Optional.empty();
    }

    private static Optional<Path> existing(Path p) {
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }
}
