package dev.membrane.onnx;

import ai.onnxruntime.OrtException;
import java.nio.file.Path;

import dev.membrane.MembraneException;

/** The one place where ONNX Runtime's exceptions become Membrane's, with the model file and the step named. */
public final class OrtErrors {
    private OrtErrors() {
    }

    public static MembraneException wrap(Path file, String what, OrtException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
        return new MembraneException(file + ": " + what + " failed: " + message, e);
    }

    /** A call into ONNX Runtime that may throw. */
    @FunctionalInterface
    public interface OrtCall<T> {
        T call() throws OrtException;
    }

    public static <T> T call(Path file, String what, OrtCall<T> call) {
        try {
            return call.call();
        } catch (OrtException e) {
            throw wrap(file, what, e);
        }
    }
}
