package dev.membrane.diffusion;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.membrane.onnx.ModelSession;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.TensorSignature;
import dev.membrane.onnx.Tensors;

/**
 * The denoising UNet session: {@code sample [B, 4, h, w]}, {@code timestep}, {@code encoder_hidden_states
 * [B, S, d]} → noise prediction {@code [B, 4, h, w]}.
 *
 * <p>The timestep is fed as the graph declares it: float {@code [batch]} (diffusers' script), a float scalar, or
 * int64 (optimum; fractional Euler timesteps are rounded). Float tensors are cast to float16 for fp16 exports.
 * Any further inputs (SPM adapter slots of a prepared model) are fed by the caller through {@code extra}.
 *
 * <p>Thread-safe; owns its session.
 */
public final class UNetModel implements AutoCloseable {
    private final ModelSession session;
    private final TensorSignature sample;
    private final TensorSignature timestep;
    private final TensorSignature context;
    private final TensorSignature output;
    private final List<TensorSignature> extraInputs;

    public UNetModel(ModelSession session) {
        this.session = session;
        sample = session.inputs().get("sample");
        timestep = session.inputs().get("timestep");
        context = session.inputs().get("encoder_hidden_states");
        if (sample == null || timestep == null || context == null) {
            throw session.unsupported("needs inputs sample, timestep and encoder_hidden_states");
        }
        if (!sample.isFloating() || sample.rank() != 4) throw session.unsupported("sample must be a float [batch, 4, h, w]");
        if (!context.isFloating() || context.rank() != 3) throw session.unsupported("encoder_hidden_states must be float [batch, sequence, width]");
        if (timestep.rank() > 1 || !(timestep.isFloating() || timestep.isInteger())) {
            throw session.unsupported("timestep must be a float or int64 scalar or [batch]");
        }
        output = session.output("out_sample", 0);
        if (output == null || !output.isFloating() || output.rank() != 4) throw session.unsupported("needs a float [batch, 4, h, w] output");
        List<TensorSignature> extra = new ArrayList<>();
        for (TensorSignature s : session.inputs().values()) {
            if (!Set.of("sample", "timestep", "encoder_hidden_states").contains(s.name())) extra.add(s);
        }
        extraInputs = List.copyOf(extra);
    }

    /** Cross-attention width d the UNet expects, or -1 where the graph leaves it dynamic. */
    public long contextWidth() {
        return context.shape()[2];
    }

    /** Inputs beyond the three standard ones (adapter slots of a prepared UNet). */
    public List<TensorSignature> extraInputs() {
        return extraInputs;
    }

    /**
     * Whether the graph's timestep input has a batch dimension (dynamic, or a size other than 1), so that every row
     * of a call can carry its own timestep. A scalar or {@code [1]} timestep makes one timestep per call.
     */
    public boolean perRowTimesteps() {
        return timestep.rank() == 1 && timestep.shape()[0] != 1;
    }

    /** The declared timestep input, for messages. */
    public TensorSignature timestepInput() {
        return timestep;
    }

    /**
     * One UNet call.
     *
     * @param latents  flat [B, 4, h, w]
     * @param shape    {B, 4, h, w}
     * @param t        the timestep, shared by the batch
     * @param context  embeddings with batch B
     * @param extra    further feeds by input name (not closed here); empty for an unprepared UNet
     */
    public float[] predict(float[] latents, long[] shape, double t, TextEmbeddings context, Map<String, OnnxTensor> extra) {
        double[] perRow = new double[(int) shape[0]];
        java.util.Arrays.fill(perRow, t);
        return predict(latents, shape, perRow, context, extra);
    }

    /**
     * One UNet call where row b is at timestep {@code timestepPerRow[b]} (continuous batching). On a graph without
     * {@link #perRowTimesteps()} every row must share one timestep.
     */
    public float[] predict(float[] latents, long[] shape, double[] timestepPerRow, TextEmbeddings context, Map<String, OnnxTensor> extra) {
        if (context.batch() != shape[0]) {
            throw new IllegalArgumentException("latent batch " + shape[0] + " but " + context.batch() + " embeddings");
        }
        if (timestepPerRow.length != shape[0]) {
            throw new IllegalArgumentException("latent batch " + shape[0] + " but " + timestepPerRow.length + " timesteps");
        }
        if (!perRowTimesteps()) {
            for (double t : timestepPerRow) {
                if (t != timestepPerRow[0]) throw new IllegalArgumentException(session.file() + ": " + timestep
                        + " takes one timestep per call, but the rows have different timesteps");
            }
        }
        return OrtErrors.call(session.file(), "running the UNet", () -> {
            var env = session.environment();
            try (OnnxTensor x = Tensors.floating(env, latents, shape, sample.type());
                 OnnxTensor ts = timestepTensor(timestepPerRow);
                 OnnxTensor ehs = Tensors.floating(env, context.data(), context.shape(), this.context.type())) {
                Map<String, OnnxTensor> feeds = new HashMap<>(extra);
                feeds.put(sample.name(), x);
                feeds.put(timestep.name(), ts);
                feeds.put(this.context.name(), ehs);
                try (OrtSession.Result out = session.run(feeds)) {
                    return Tensors.readFloats(out.get(0), output.name());
                }
            }
        });
    }

    /** The timestep tensor as the graph declares it: one value per row, or the first row's value once. */
    private OnnxTensor timestepTensor(double[] perRow) throws ai.onnxruntime.OrtException {
        long[] shape = timestep.rank() == 0 ? new long[0] : new long[] {perRowTimesteps() ? perRow.length : 1};
        int n = (int) Tensors.elementCount(shape);
        var env = session.environment();
        if (timestep.isInteger()) {
            long[] values = new long[n];
            for (int i = 0; i < n; i++) values[i] = Math.round(perRow[i]);
            return Tensors.integer(env, values, shape, timestep.type() == OnnxJavaType.INT32 ? OnnxJavaType.INT32 : OnnxJavaType.INT64);
        }
        float[] values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float) perRow[i];
        return Tensors.floating(env, values, shape, timestep.type());
    }

    public ModelSession session() {
        return session;
    }

    @Override
    public void close() {
        session.close();
    }
}
