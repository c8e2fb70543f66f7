package dev.membrane.onnx;

import java.util.Locale;

import dev.membrane.MembraneException;

/** {@code membrane.device}: where sessions run. */
public enum DeviceChoice {
    /** CUDA when an NVIDIA driver and the CUDA provider are usable, else CPU with a logged reason. */
    AUTO,
    /** CPU only (also with the GPU build of ONNX Runtime). */
    CPU,
    /** CUDA or fail: no silent fallback. */
    CUDA;

    public static DeviceChoice parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "cpu" -> CPU;
            case "cuda", "gpu" -> CUDA;
            default -> throw new MembraneException("unknown device '" + text + "' (auto, cpu, cuda)");
        };
    }
}
