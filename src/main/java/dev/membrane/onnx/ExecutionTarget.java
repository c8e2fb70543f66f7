package dev.membrane.onnx;

/**
 * Where sessions actually run, for logs, summaries and audit records.
 *
 * @param provider       {@code CUDAExecutionProvider} or {@code CPUExecutionProvider}
 * @param deviceId       CUDA ordinal, or -1 on CPU
 * @param fallbackReason why CUDA was not used although {@code auto} asked for it; null otherwise
 */
public record ExecutionTarget(String provider, int deviceId, String fallbackReason) {
    public static final String CUDA = "CUDAExecutionProvider";
    public static final String CPU = "CPUExecutionProvider";

    public boolean isCuda() {
        return CUDA.equals(provider);
    }

    /** Short label: {@code cuda:0} or {@code cpu}. */
    public String device() {
        return isCuda() ? "cuda:" + deviceId : "cpu";
    }
}
