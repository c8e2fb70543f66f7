package dev.membrane.diffusion;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.util.Map;

import dev.membrane.onnx.ModelSession;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.TensorSignature;
import dev.membrane.onnx.Tensors;

/**
 * The CLIP text encoder session: {@code input_ids [B, 77]} (int32 or int64) → {@code last_hidden_state [B, 77, d]}
 * (float32 or float16, read back as float32).
 *
 * <p>Thread-safe; owns its session.
 */
public final class TextEncoderModel implements AutoCloseable {
    private final ModelSession session;
    private final TensorSignature ids;
    private final TensorSignature hidden;

    public TextEncoderModel(ModelSession session) {
        this.session = session;
        ids = session.input("input_ids", 0);
        if (ids == null || !ids.isInteger() || ids.rank() != 2) {
            throw session.unsupported("needs an int32 or int64 input_ids [batch, sequence]");
        }
        if (session.inputs().size() != 1) throw session.unsupported("expected a single input, input_ids");
        hidden = session.output("last_hidden_state", 0);
        if (hidden == null || !hidden.isFloating() || hidden.rank() != 3) {
            throw session.unsupported("needs a float last_hidden_state [batch, sequence, width] output");
        }
    }

    /** Encodes each row of token ids (all rows of one length). */
    public TextEmbeddings encode(int[][] tokenIds) {
        int batch = tokenIds.length;
        int length = tokenIds[0].length;
        long[] flat = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            if (tokenIds[b].length != length) throw new IllegalArgumentException("token rows differ in length");
            for (int i = 0; i < length; i++) flat[b * length + i] = tokenIds[b][i];
        }
        return OrtErrors.call(session.file(), "encoding text", () -> {
            try (OnnxTensor in = Tensors.integer(session.environment(), flat, new long[] {batch, length}, ids.type());
                 OrtSession.Result out = session.run(Map.of(ids.name(), in))) {
                float[] data = Tensors.readFloats(out.get(hidden.name()).orElseThrow(), hidden.name());
                return new TextEmbeddings(data, batch, length, data.length / (batch * length));
            }
        });
    }

    public ModelSession session() {
        return session;
    }

    @Override
    public void close() {
        session.close();
    }
}
