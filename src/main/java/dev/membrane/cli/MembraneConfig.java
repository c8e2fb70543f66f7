package dev.membrane.cli;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.nio.file.Path;

import dev.membrane.onnx.DeviceChoice;
import dev.membrane.onnx.RuntimeConfig;

/** The {@code membrane.*} configuration keys (application.properties, env MEMBRANE_*, -D). */
@ConfigMapping(prefix = "membrane")
public interface MembraneConfig {

    /** auto, cpu or cuda. */
    @WithDefault("auto")
    String device();

    /** CUDA device ordinal. */
    @WithName("device-id")
    @WithDefault("0")
    int deviceId();

    /** Where the demo builds its reference model and writes its images. */
    @WithName("data-dir")
    @WithDefault("membrane-data")
    Path dataDir();

    Onnx onnx();

    interface Onnx {
        /** Intra-op threads of the shared pool; 0 = one per core. */
        @WithName("intra-op-threads")
        @WithDefault("0")
        int intraOpThreads();

        /** none, basic, extended or all. */
        @WithDefault("all")
        String optimization();

        @WithName("memory-arena")
        @WithDefault("true")
        boolean memoryArena();

        /** Whether pool threads spin while idle. */
        @WithDefault("false")
        boolean spinning();
    }

    default RuntimeConfig runtimeConfig() {
        return new RuntimeConfig(DeviceChoice.parse(device()), deviceId(), onnx().intraOpThreads(), onnx().optimization(),
                onnx().memoryArena(), onnx().spinning());
    }
}
