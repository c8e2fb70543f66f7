package dev.membrane.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferencePreset;

/** One tiny reference model per test JVM, built on first use into a temporary folder. */
public final class TinyModel {
    private static Path dir;
    private static OrtRuntime runtime;

    private TinyModel() {
    }

    public static synchronized Path dir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("membrane-tiny-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(ReferencePreset.TINY));
        }
        return dir;
    }

    public static synchronized OrtRuntime runtime() {
        if (runtime == null) runtime = OrtRuntime.create(RuntimeConfig.cpuDefaults());
        return runtime;
    }
}
