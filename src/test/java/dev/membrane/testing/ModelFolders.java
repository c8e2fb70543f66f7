package dev.membrane.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

import dev.membrane.spm.UNetPreparer;

/** Copies of model folders for tests that write into one or break it on purpose. */
public final class ModelFolders {
    private ModelFolders() {
    }

    /**
     * Copies every file of {@code from} into {@code to}, except a prepared UNet: it is derived from the UNet, and a
     * stale one left beside a source folder must not stand in for the copy's own.
     */
    public static Path copy(Path from, Path to) {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (!Files.isRegularFile(f) || f.getFileName().toString().equals(UNetPreparer.PREPARED_FILE)) continue;
                Path target = to.resolve(from.relativize(f).toString());
                Files.createDirectories(target.getParent());
                Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return to;
    }
}
