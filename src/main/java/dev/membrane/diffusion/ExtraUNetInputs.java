package dev.membrane.diffusion;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import java.util.Map;

/** Builds further UNet inputs (adapter slots) for a generation from its encoded prompts. */
@FunctionalInterface
public interface ExtraUNetInputs {
    /** Tensors for every UNet call of this generation; the pipeline closes them when denoising ends. */
    Map<String, OnnxTensor> create(EncodedPrompts prompts) throws OrtException;
}
