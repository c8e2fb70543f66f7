package dev.membrane.diffusion;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.util.Map;

import dev.membrane.onnx.ModelSession;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.TensorSignature;
import dev.membrane.onnx.Tensors;

/**
 * The VAE decoder session: {@code latent_sample [B, 4, h, w]} → {@code sample [B, 3, 8h, 8w]}, values around
 * [-1, 1]. The caller scales latents by 1/0.18215 first.
 *
 * <p>Thread-safe; owns its session.
 */
public final class VaeDecoderModel implements AutoCloseable {
    private final ModelSession session;
    private final TensorSignature latent;
    private final TensorSignature image;

    public VaeDecoderModel(ModelSession session) {
        this.session = session;
        latent = session.input("latent_sample", 0);
        if (latent == null || !latent.isFloating() || latent.rank() != 4 || session.inputs().size() != 1) {
            throw session.unsupported("needs a single float latent_sample [batch, 4, h, w] input");
        }
        image = session.output("sample", 0);
        if (image == null || !image.isFloating() || image.rank() != 4) throw session.unsupported("needs a float [batch, 3, H, W] output");
    }

    /** Decoded pixels, flat [B, 3, H, W], with their shape. */
    public record Decoded(float[] pixels, long[] shape) {
    }

    public Decoded decode(float[] latents, long[] shape) {
        return OrtErrors.call(session.file(), "decoding latents", () -> {
            try (OnnxTensor z = Tensors.floating(session.environment(), latents, shape, latent.type());
                 OrtSession.Result out = session.run(Map.of(latent.name(), z))) {
                var value = out.get(0);
                return new Decoded(Tensors.readFloats(value, image.name()), Tensors.shapeOf(value));
            }
        });
    }

    @Override
    public void close() {
        session.close();
    }
}
