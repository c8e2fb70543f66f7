package dev.membrane.onnx.reference;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.util.List;

import dev.membrane.onnx.graph.Attr;

/**
 * CLIP's text transformer ({@code CLIPTextModel}): token and position embeddings, pre-norm causal self-attention
 * layers with quick-GELU MLPs, a final layer norm. Input {@code input_ids [B, S]} (S ≤ 77), output
 * {@code last_hidden_state [B, S, d]}.
 */
final class TextEncoderGraph {
    static final int MAX_POSITIONS = 77;
    private final Layers l;
    private final ReferencePreset p;

    TextEncoderGraph(Layers layers, ReferencePreset preset) {
        this.l = layers;
        this.p = preset;
    }

    void build(int vocabSize, ModelIoTypes io) {
        int d = p.textWidth();
        String ids = l.g.input("input_ids", io.int64Ids() ? DataType.INT64 : DataType.INT32, "batch", "sequence");
        String tokens = l.op("text_model.embeddings.token_embedding", "Gather",
                List.of(l.embedding("text_model.embeddings.token_embedding.weight", vocabSize, d, p.tokenStd()), ids), Attr.i("axis", 0));
        String length = l.op("text_model.embeddings", "Slice",
                List.of(l.op("text_model.embeddings", "Shape", List.of(ids)), l.shape(1), l.shape(2)));
        String positions = l.op("text_model.embeddings", "Slice", List.of(
                l.embedding("text_model.embeddings.position_embedding.weight", MAX_POSITIONS, d, 0.01),
                l.shape(0), length, l.shape(0)));
        String x = l.add("text_model.embeddings", tokens, positions);

        float[] mask = new float[MAX_POSITIONS * MAX_POSITIONS];
        for (int i = 0; i < MAX_POSITIONS; i++) {
            for (int j = i + 1; j < MAX_POSITIONS; j++) mask[i * MAX_POSITIONS + j] = Float.NEGATIVE_INFINITY;
        }
        String fullMask = l.g.constant("text_model.causal_mask", mask, MAX_POSITIONS, MAX_POSITIONS);
        String causal = l.op("text_model", "Slice", List.of(fullMask, l.shape(0, 0), l.op("text_model", "Concat",
                List.of(length, length), Attr.i("axis", 0)), l.shape(0, 1)));

        for (int layer = 0; layer < p.textLayers(); layer++) {
            String m = "text_model.encoder.layers." + layer;
            String h = l.layerNorm(m + ".layer_norm1", x, d, 1e-5f);
            String q = l.linear(m + ".self_attn.q_proj", h, d, d, true);
            String k = l.linear(m + ".self_attn.k_proj", h, d, d, true);
            String v = l.linear(m + ".self_attn.v_proj", h, d, d, true);
            String attn = l.multiHead(m + ".self_attn", q, k, v, d, p.textHeads(), causal);
            x = l.add(m, x, l.linear(m + ".self_attn.out_proj", attn, d, d, true));
            h = l.layerNorm(m + ".layer_norm2", x, d, 1e-5f);
            h = l.linear(m + ".mlp.fc1", h, d, 4 * d, true);
            // quick GELU: x * sigmoid(1.702 x)
            h = l.op(m + ".mlp.activation_fn", "Mul", List.of(h, l.op(m + ".mlp.activation_fn", "Sigmoid",
                    List.of(l.op(m + ".mlp.activation_fn", "Mul", List.of(h, l.scalar(1.702f)))))));
            x = l.add(m, x, l.linear(m + ".mlp.fc2", h, 4 * d, d, true));
        }
        // SD 1.x's text encoder outputs have |c|² ≈ 768 per token; the gain gives narrower presets the same norm, so
        // norm-sensitive uses (cross-attention logits, the closed-form SPM's λ) behave as on a real model
        String out = l.layerNorm("text_model.final_layer_norm", x, d, 1e-5f, (float) Math.sqrt(768.0 / d));
        if (io.float16Io()) {
            l.g.nodeNamed("Cast", "/Cast_out", List.of(out), List.of("last_hidden_state"), Attr.i("to", DataType.FLOAT16.getNumber()));
        } else {
            l.g.nodeNamed("Identity", "/Identity_out", List.of(out), List.of("last_hidden_state"));
        }
        l.g.output("last_hidden_state", io.float16Io() ? DataType.FLOAT16 : DataType.FLOAT, "batch", "sequence", (long) d);
    }
}
