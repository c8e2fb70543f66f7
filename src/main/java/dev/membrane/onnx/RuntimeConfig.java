package dev.membrane.onnx;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import java.util.Locale;

import dev.membrane.MembraneException;

/**
 * How ONNX Runtime sessions are made.
 *
 * @param device          auto, cpu or cuda
 * @param deviceId        CUDA device ordinal
 * @param intraOpThreads  threads of the environment-wide intra-op pool; 0 lets ONNX Runtime choose (one per core)
 * @param optimization    graph optimisation level: none, basic, extended or all
 * @param memoryArena     whether the CPU memory arena is used
 * @param spinning        whether pool threads spin while waiting for work (faster alone, slower when processes share cores)
 */
public record RuntimeConfig(DeviceChoice device, int deviceId, int intraOpThreads, String optimization,
                            boolean memoryArena, boolean spinning) {

    public RuntimeConfig {
        if (deviceId < 0) throw new MembraneException("device id must be >= 0, got " + deviceId);
        if (intraOpThreads < 0) throw new MembraneException("intra-op threads must be >= 0, got " + intraOpThreads);
        optLevel(optimization);
    }

    /** CPU, ONNX Runtime's own thread count, all optimisations, arena on, no spinning. */
    public static RuntimeConfig cpuDefaults() {
        return new RuntimeConfig(DeviceChoice.CPU, 0, 0, "all", true, false);
    }

    public RuntimeConfig withDevice(DeviceChoice choice) {
        return new RuntimeConfig(choice, deviceId, intraOpThreads, optimization, memoryArena, spinning);
    }

    OptLevel optLevel() {
        return optLevel(optimization);
    }

    private static OptLevel optLevel(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "none", "disable" -> OptLevel.NO_OPT;
            case "basic" -> OptLevel.BASIC_OPT;
            case "extended" -> OptLevel.EXTENDED_OPT;
            case "all" -> OptLevel.ALL_OPT;
            default -> throw new MembraneException("unknown optimisation level '" + text + "' (none, basic, extended, all)");
        };
    }
}
