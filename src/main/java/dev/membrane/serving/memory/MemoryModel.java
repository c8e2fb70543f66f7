package dev.membrane.serving.memory;

import java.nio.file.Path;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.tokenizer.ClipTokenizer;

/**
 * How much memory one batch of a Stable Diffusion 1.x model needs beyond its loaded weights, from the shapes in
 * its ONNX graphs, so that the gateway admits only what fits {@code membrane.gateway.memory-budget-mb}.
 *
 * <h2>The formula</h2>
 * For a W×H request, latent side h×w = H/8 × W/8, {@code R} UNet rows (images × 2 with guidance), {@code D}
 * decoded images and element size e (4 fp32, 2 fp16):
 * <pre>
 * peak = F + latents + unet + vae + pixels
 *   latents = 12 · R · 4·h·w · 4
 *   unet    = R · e · max over levels ℓ of [ attn(ℓ) + K_U · C_ℓ · N_ℓ + 3 · Σ_{k&lt;ℓ} C_k · N_k ]
 *             attn(ℓ) = A · heads · N_ℓ · max(N_ℓ, M)   on levels with transformer blocks, else 0
 *   vae     = D · e · max( K_V · max over stages (C_s · P_s),  attnVae + K_V · C_mid · h·w )
 *             attnVae = A · (h·w)²                          when the mid block has attention, else 0
 *   pixels  = D · 3 · H·W · (e + 4 + 1)
 * </pre>
 * where N_ℓ is level ℓ's pixel count (the latent side halved ℓ times, rounded up as a stride-2 conv does),
 * C_ℓ its channels, M the context length (77), C_s·P_s a decoder stage's channels × pixels (each up block at its
 * scale, and each upsampler's conv at the doubled scale), and A = 2.1, K_U = 20, K_V = 6, F = 32 MiB the
 * calibrated constants below.
 *
 * <h2>Why each term</h2>
 * <ul>
 *   <li><b>attn</b>: the graph computes attention as MatMul → Softmax → MatMul, so {@code softmax(q·kᵀ)} is
 *       materialised: the scores [R, heads, N, N] and the Softmax output of the same size are live together
 *       (A = 2; measured 2.0-2.07 copies on sd15 at 256²-768², the 0.1 covers the arena's granularity on
 *       multi-GB blocks). At the first level this is quadratic in the pixel count and dominates from 256² on:
 *       at 1024² (N = 16384) one SD 1.5 row needs 2 · 8 · 16384² · 4 B = 16 GiB. Cross-attention's [N, M] scores replace it only
 *       when a level has fewer pixels than context tokens (tiny images).</li>
 *   <li><b>K_U · C·N</b>: what is live around the attention: the residual stream, the normalised copy, q, k, v
 *       and their head-split transposes, the attention output, and the GEGLU feed-forward's 8C-wide projection
 *       with its gate chain (which is the peak on levels without attention).</li>
 *   <li><b>3 · Σ C_k·N_k</b>: the skip connections of the shallower levels, held from the down path until the
 *       up path consumes them (three per level).</li>
 *   <li><b>vae</b>: the decoder's peak is either its widest full-resolution convolution stage (input, GroupNorm
 *       and SiLU temporaries, the conv's output and the resnet shortcut, folded into K_V) or, with SD's mid-block
 *       attention, the single-head [h·w, h·w] scores and Softmax output at latent resolution.</li>
 *   <li><b>sum, not max</b>: ONNX Runtime's CPU arena (and CUDA's) keeps each session's high-water mark for
 *       the life of the session, so after one batch the UNet's and the decoder's peaks are both resident.</li>
 *   <li><b>latents, pixels</b>: Java arrays: the noise, latents, doubled guided input, UNet output and PNDM's
 *       history (about a dozen latent-sized arrays), and the decoded images three times (tensor, floats, RGB).</li>
 *   <li><b>F</b>: what the first run adds regardless of size (kernel scratch, thread-local buffers, JIT code),
 *       measured on the tiny preset where activations are negligible. The text encoder's activations
 *       (R · 77 · 4d floats) are a few MB and fall under F.</li>
 * </ul>
 * K_U, K_V and F are calibrated against measured peak RSS (VmHWM) of fresh processes by
 * {@code membrane bench --memory}; README "Memory budget" has the table.
 */
public final class MemoryModel {
    /**
     * Attention-score-sized tensors live at once: scores and Softmax output (2), plus 5 % measured on sd15 at
     * 512² and 768² (2.07 copies at 768²: the arena's granularity on multi-GB blocks).
     */
    static final double ATTENTION_COPIES = 2.1;
    /**
     * Live activations around attention, in units of C·N per row: measured 17-19 on sd15 at 256² and 512² (the
     * per-row rise less the scores), 20 leaves a little room; README "Memory budget".
     */
    static final double UNET_SURROUNDING = 20;
    /**
     * Live activations at the decoder's widest stage, in units of C·P per image: measured 4.0 on both presets at
     * 256² and 512², 5.7 at 768²; 6 covers the largest measured.
     */
    static final double VAE_SURROUNDING = 6;
    /** Size-independent overhead of the first run: 5-7 MB measured on the tiny preset at 64², ±20 MB of heap noise. */
    static final long FIXED_BYTES = 32L << 20;
    /** Latent-sized Java arrays alive during denoising (noise, input, doubled input, output, PNDM history). */
    static final int LATENT_COPIES = 12;

    private final UNetShape unet;
    private final VaeShape vae;
    private final long weightBytes;

    public MemoryModel(UNetShape unet, VaeShape vae, long weightBytes) {
        this.unet = unet;
        this.vae = vae;
        this.weightBytes = weightBytes;
    }

    /**
     * Reads the shapes from the folder's UNet and VAE decoder graphs (their {@code config.json} where the graph
     * lacks a size), the context length from the tokenizer, and the weight sizes from the model files.
     */
    public static MemoryModel of(ModelFolder folder) {
        return of(folder, folder.unet());
    }

    /** As {@link #of(ModelFolder)} with another UNet file (a prepared one: its adapter branches are small). */
    public static MemoryModel of(ModelFolder folder, Path unetFile) {
        OnnxShapes unetGraph = OnnxShapes.read(unetFile);
        OnnxShapes vaeGraph = OnnxShapes.read(folder.vaeDecoder());
        OnnxShapes textGraph = OnnxShapes.read(folder.textEncoder());
        int contextLength = ClipTokenizer.load(folder.tokenizer()).maxLength();
        UNetShape u = UNetShapeReader.read(unetGraph, ComponentConfig.beside(folder.unet()), contextLength);
        VaeShape v = VaeShapeReader.read(vaeGraph, ComponentConfig.beside(folder.vaeDecoder()));
        return new MemoryModel(u, v, unetGraph.fileBytes() + vaeGraph.fileBytes() + textGraph.fileBytes());
    }

    public UNetShape unetShape() {
        return unet;
    }

    public VaeShape vaeShape() {
        return vae;
    }

    /** Bytes of the loaded model files: text encoder, UNet and VAE decoder graphs with their external data. */
    public long weightBytes() {
        return weightBytes;
    }

    /**
     * The working memory of one batch beyond the loaded weights (see the class comment).
     *
     * @param width        image width in pixels (a multiple of 8)
     * @param height       image height in pixels
     * @param unetRows     rows of each UNet call: images × 2 with guidance
     * @param decodeImages images the VAE decodes at once
     */
    public long peakBytes(int width, int height, int unetRows, int decodeImages) {
        return estimate(width, height, unetRows, decodeImages).totalBytes();
    }

    /** {@link #peakBytes} term by term. */
    public MemoryEstimate estimate(int width, int height, int unetRows, int decodeImages) {
        if (width < 8 || height < 8 || unetRows < 1 || decodeImages < 1) {
            throw new IllegalArgumentException("need a size of at least 8x8 and at least one row and image, got "
                    + width + "x" + height + ", " + unetRows + " rows, " + decodeImages + " images");
        }
        long h = height / 8;
        long w = width / 8;
        long latents = (long) LATENT_COPIES * unetRows * 4 * h * w * Float.BYTES;
        long pixels = (long) decodeImages * 3 * height * width * (vae.elementBytes() + Float.BYTES + 1);
        return new MemoryEstimate(FIXED_BYTES, latents, unetBytes(h, w, unetRows), vaeBytes(h, w, decodeImages), pixels);
    }

    /** {@code R · e · max_ℓ [attn(ℓ) + K_U · C_ℓ · N_ℓ + 3 · Σ_{k<ℓ} C_k · N_k]}. */
    long unetBytes(long h, long w, int rows) {
        double worst = 0;
        double shallowerSkips = 0;
        long lh = h;
        long lw = w;
        for (int l = 0; l < unet.levels(); l++) {
            double n = (double) lh * lw;
            double c = unet.blockChannels().get(l);
            double attention = unet.attention().get(l) ? ATTENTION_COPIES * unet.heads() * n * Math.max(n, unet.contextLength()) : 0;
            worst = Math.max(worst, attention + UNET_SURROUNDING * c * n + shallowerSkips);
            shallowerSkips += 3 * c * n;
            lh = (lh + 1) / 2;
            lw = (lw + 1) / 2;
        }
        return (long) Math.ceil(rows * (double) unet.elementBytes() * worst);
    }

    /** {@code D · e · max(K_V · max_s C_s·P_s, attnVae + K_V · C_mid · h·w)}. */
    long vaeBytes(long h, long w, int images) {
        double latentPixels = (double) h * w;
        double widest = vae.midChannels() * latentPixels;
        double scale = 1;
        for (int i = 0; i < vae.upChannels().size(); i++) {
            double c = vae.upChannels().get(i);
            widest = Math.max(widest, c * latentPixels * scale * scale);
            if (vae.upsamples().get(i)) {
                scale *= 2;
                widest = Math.max(widest, c * latentPixels * scale * scale); // the upsampler's conv at the new scale
            }
        }
        double convs = VAE_SURROUNDING * widest;
        double attention = vae.midAttention() ? ATTENTION_COPIES * latentPixels * latentPixels + VAE_SURROUNDING * vae.midChannels() * latentPixels : 0;
        return (long) Math.ceil(images * (double) vae.elementBytes() * Math.max(convs, attention));
    }

    /**
     * The default {@code membrane.gateway.memory-budget-mb}: what the machine leaves for batches.
     * {@code limit − max heap − weights − margin}, where limit is the cgroup memory limit (v2 {@code memory.max},
     * else v1 {@code memory.limit_in_bytes}) when set, else physical RAM; the max heap because the JVM may grow
     * its heap to it and ONNX Runtime's memory is outside it; the weights because the sessions hold them natively;
     * and the margin ({@link DefaultBudget#marginBytes}) for JVM non-heap memory (metaspace, code cache, thread
     * stacks, direct buffers), allocator fragmentation and the estimate's own error. Never below 0.
     */
    public static long defaultBudgetMb(MachineMemory machine, long weightBytes) {
        return DefaultBudget.mb(machine, weightBytes);
    }

    /** {@link #defaultBudgetMb(MachineMemory, long)} for this process's machine and this model's weights. */
    public long defaultBudgetMb() {
        return defaultBudgetMb(MachineMemory.detect(), weightBytes);
    }

    /** The largest batch of a request that fits {@code budgetBytes}; see {@link BatchFit}. */
    public BatchFit fit(int width, int height, int images, boolean guided, long budgetBytes) {
        return BatchFit.of(this, width, height, images, guided, budgetBytes);
    }
}
