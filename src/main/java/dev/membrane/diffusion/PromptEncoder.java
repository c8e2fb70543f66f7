package dev.membrane.diffusion;

import java.util.List;

import dev.membrane.tokenizer.ClipTokenizer;

/**
 * Tokenize → text encoder. The embeddings it returns condition the UNet and (for SPM) feed Facilitated Transport,
 * so a prompt is encoded once per request. Thread-safe.
 */
public final class PromptEncoder {
    private final ClipTokenizer tokenizer;
    private final TextEncoderModel textEncoder;

    public PromptEncoder(ClipTokenizer tokenizer, TextEncoderModel textEncoder) {
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public int[][] tokenize(List<String> prompts) {
        int[][] ids = new int[prompts.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = tokenizer.encode(prompts.get(i));
        return ids;
    }

    public TextEmbeddings encodeIds(int[][] ids) {
        return textEncoder.encode(ids);
    }

    public TextEmbeddings encode(List<String> prompts) {
        return encodeIds(tokenize(prompts));
    }
}
