package dev.membrane.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.membrane.MembraneException;

/**
 * One ONNX Runtime session over one model file, with the graph's declared inputs and outputs.
 * The model classes ({@code TextEncoderModel}, {@code UNetModel}, ...) each own one of these.
 *
 * <p>Thread-safe: ONNX Runtime allows concurrent {@code run} calls on one session.
 */
public final class ModelSession implements AutoCloseable {
    private final OrtRuntime runtime;
    private final Path file;
    private final String role;
    private final OrtSession session;
    private final Map<String, TensorSignature> inputs;
    private final Map<String, TensorSignature> outputs;

    ModelSession(OrtRuntime runtime, Path file, String role, OrtSession session) throws OrtException {
        this.runtime = runtime;
        this.file = file;
        this.role = role;
        this.session = session;
        this.inputs = signatures(session.getInputInfo());
        this.outputs = signatures(session.getOutputInfo());
    }

    private Map<String, TensorSignature> signatures(Map<String, NodeInfo> infos) {
        Map<String, TensorSignature> out = new LinkedHashMap<>();
        for (NodeInfo info : infos.values()) {
            if (!(info.getInfo() instanceof TensorInfo t)) {
                throw new MembraneException(file + ": " + role + " value '" + info.getName() + "' is not a tensor");
            }
            out.put(info.getName(), new TensorSignature(info.getName(), t.type, t.getShape()));
        }
        return Collections.unmodifiableMap(out);
    }

    public Path file() {
        return file;
    }

    public String role() {
        return role;
    }

    public OrtEnvironment environment() {
        return runtime.environment();
    }

    public ExecutionTarget target() {
        return runtime.target();
    }

    /** The model's custom metadata (ONNX {@code metadata_props}). */
    public Map<String, String> customMetadata() {
        return OrtErrors.call(file, "reading " + role + " metadata", () -> session.getMetadata().getCustomMetadata());
    }

    /** Inputs in graph order. */
    public Map<String, TensorSignature> inputs() {
        return inputs;
    }

    /** Outputs in graph order. */
    public Map<String, TensorSignature> outputs() {
        return outputs;
    }

    /** The input named {@code preferred}, else the graph's input at {@code fallbackIndex}; null if neither exists. */
    public TensorSignature input(String preferred, int fallbackIndex) {
        return pick(inputs, preferred, fallbackIndex);
    }

    public TensorSignature output(String preferred, int fallbackIndex) {
        return pick(outputs, preferred, fallbackIndex);
    }

    private static TensorSignature pick(Map<String, TensorSignature> m, String preferred, int index) {
        TensorSignature s = m.get(preferred);
        if (s != null) return s;
        return index < m.size() ? m.values().stream().skip(index).findFirst().orElse(null) : null;
    }

    /** A clear error for a graph whose inputs or outputs are not what this role needs. */
    public MembraneException unsupported(String problem) {
        return new MembraneException(file + ": unsupported " + role + " model: " + problem
                + " (inputs " + inputs.values() + ", outputs " + outputs.values() + ")");
    }

    /** Runs the graph; the caller closes the result. Feeds are not closed here. */
    public OrtSession.Result run(Map<String, OnnxTensor> feeds) {
        try {
            return OrtCallGate.call(() -> session.run(feeds));
        } catch (OrtException e) {
            throw OrtErrors.wrap(file, "running the " + role, e);
        }
    }

    @Override
    public void close() {
        try {
            OrtCallGate.release(session::close);
        } catch (OrtException e) {
            throw OrtErrors.wrap(file, "closing the " + role + " session", e);
        }
    }
}
