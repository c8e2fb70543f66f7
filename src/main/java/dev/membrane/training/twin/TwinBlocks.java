package dev.membrane.training.twin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.training.twin.TwinLayers.Conv;
import dev.membrane.training.twin.TwinLayers.GroupNorm;
import dev.membrane.training.twin.TwinLayers.Linear;
import dev.membrane.training.twin.TwinLayers.Norm;

/** SD 1.x's UNet building blocks (ResnetBlock2D, Transformer2DModel with one BasicTransformerBlock, Attention). */
final class TwinBlocks {
    private TwinBlocks() {
    }

    /** norm1 → SiLU → conv1 → + time_emb_proj(SiLU(temb)) → norm2 → SiLU → conv2, + (conv_shortcut) x. */
    record Resnet(GroupNorm norm1, Conv conv1, Linear timeProj, GroupNorm norm2, Conv conv2, Conv shortcut) {
        static Resnet load(OnnxGraphIndex g, NDManager m, String module) {
            Conv shortcut = g.has(module + ".conv_shortcut", "Conv") ? Conv.load(g, m, module + ".conv_shortcut") : null;
            return new Resnet(GroupNorm.load(g, m, module + ".norm1"), Conv.load(g, m, module + ".conv1"),
                    Linear.gemm(g, m, module + ".time_emb_proj"), GroupNorm.load(g, m, module + ".norm2"),
                    Conv.load(g, m, module + ".conv2"), shortcut);
        }

        NDArray forward(NDArray x, NDArray timeEmbeddingSilu) {
            NDArray h = conv1.forward(TwinLayers.silu(norm1.forward(x)), SiteAdapters.NONE);
            NDArray t = timeProj.forward(timeEmbeddingSilu, SiteAdapters.NONE);
            h = h.add(t.reshape(t.getShape().get(0), t.getShape().get(1), 1, 1));
            h = conv2.forward(TwinLayers.silu(norm2.forward(h)), SiteAdapters.NONE);
            NDArray skip = shortcut == null ? x : shortcut.forward(x, SiteAdapters.NONE);
            return skip.add(h);
        }
    }

    /** Multi-head attention without q/k/v bias; to_out.0 with bias. Heads come from the graph's head split. */
    record Attention(Linear q, Linear k, Linear v, Linear out, int heads, NDArray scale) {
        /** Attention scores per batch chunk: 4M floats, 16 MB, half of glibc's largest dynamic mmap threshold. */
        static final long SCORES_PER_CHUNK = 1L << 22;

        static Attention load(OnnxGraphIndex g, NDManager m, String module, Path modelDir) {
            Linear q = Linear.matMul(g, m, module + ".to_q");
            int heads = heads(g, module, q.out(), modelDir);
            return new Attention(q, Linear.matMul(g, m, module + ".to_k"), Linear.matMul(g, m, module + ".to_v"),
                    Linear.matMul(g, m, module + ".to_out.0"), heads, m.create((float) (1 / Math.sqrt(q.out() / heads))));
        }

        /**
         * The head count: the constant [0, 0, heads, head_dim] of the module's first Reshape; exports that compute
         * that shape at run time fall back to {@code unet/config.json}'s {@code attention_head_dim} (which holds the
         * head count on SD 1.x).
         */
        private static int heads(OnnxGraphIndex g, String module, int dim, Path modelDir) {
            Optional<long[]> shape = g.node(module, "Reshape").flatMap(n -> g.int64(n.getInput(1)));
            if (shape.isPresent() && shape.get().length == 4 && shape.get()[2] > 0) return (int) shape.get()[2];
            Path config = modelDir.resolve("config.json");
            if (Files.isRegularFile(config)) {
                try {
                    JsonNode n = new ObjectMapper().readTree(config.toFile()).path("attention_head_dim");
                    int h = n.isArray() ? n.get(0).asInt() : n.asInt();
                    if (h > 0 && dim % h == 0) return h;
                } catch (java.io.IOException e) {
                    throw g.unmapped(config + " is not valid JSON");
                }
            }
            throw g.unmapped("cannot tell the attention heads of " + module + " (no constant head split at "
                    + dev.membrane.onnx.graph.ExporterNames.node(module, "Reshape") + ", no unet/config.json)");
        }

        NDArray forward(NDArray x, NDArray context, SiteAdapters adapters) {
            Shape s = x.getShape();
            long b = s.get(0);
            int dim = q.out();
            int headDim = dim / heads;
            // The 1/√d scale goes on the queries, not the scores: the same product on a tensor a head-count times
            // the context length smaller, which is a full elementwise pass and its backward saved per attention.
            NDArray qh = q.forward(x, adapters).mul(scale).reshape(b, -1, heads, headDim).transpose(0, 2, 1, 3);
            NDArray kh = k.forward(context, adapters).reshape(b, -1, heads, headDim).transpose(0, 2, 3, 1);
            NDArray vh = v.forward(context, adapters).reshape(b, -1, heads, headDim).transpose(0, 2, 1, 3);
            long queries = qh.getShape().get(2);
            long keys = kh.getShape().get(3);
            NDArray ctx;
            if (b * heads * queries * keys <= SCORES_PER_CHUNK) {
                ctx = qh.matMul(kh).softmax(-1).matMul(vh);
            } else {
                // Scores of 64 latents of 16x16 are 33.5 MB: past glibc's largest dynamic mmap threshold (32 MB), so
                // every such tensor, its softmax and their gradients were fresh mmaps, page-faulted in and unmapped
                // each step (half the step's CPU time showed as system time). Batch chunks keep each below it.
                long per = Math.max(1, SCORES_PER_CHUNK / (heads * queries * keys));
                NDList parts = new NDList();
                for (long from = 0; from < b; from += per) {
                    String range = from + ":" + Math.min(b, from + per);
                    parts.add(qh.get(range).matMul(kh.get(range)).softmax(-1).matMul(vh.get(range)));
                }
                ctx = NDArrays.concat(parts, 0);
            }
            return out.forward(ctx.transpose(0, 2, 1, 3).reshape(b, -1, dim), adapters);
        }
    }

    /**
     * GroupNorm → proj_in (1x1 conv, or Linear after flattening) → [B, HW, C] → self-attention, cross-attention and
     * GEGLU feed-forward, each with a pre-LayerNorm and a residual → proj_out → + x.
     */
    record Transformer(GroupNorm norm, Conv convIn, Linear linearIn, Norm norm1, Attention attn1, Norm norm2,
                       Attention attn2, Norm norm3, Linear ffIn, Linear ffOut, Conv convOut, Linear linearOut) {
        static Transformer load(OnnxGraphIndex g, NDManager m, String module, Path modelDir) {
            boolean conv = g.has(module + ".proj_in", "Conv");
            String block = module + ".transformer_blocks.0";
            if (g.has(module + ".transformer_blocks.1", "Add") || g.has(module + ".transformer_blocks.1.norm1", "LayerNormalization")) {
                throw g.unmapped(module + " has more than one transformer block (SD 1.x has one)");
            }
            Linear ffIn = Linear.matMul(g, m, block + ".ff.net.0.proj");
            if (ffIn.out() % 2 != 0) throw g.unmapped(block + ".ff.net.0.proj is not a GEGLU projection");
            return new Transformer(GroupNorm.load(g, m, module + ".norm"),
                    conv ? Conv.load(g, m, module + ".proj_in") : null,
                    conv ? null : Linear.matMul(g, m, module + ".proj_in"),
                    Norm.load(g, m, block + ".norm1"), Attention.load(g, m, block + ".attn1", modelDir),
                    Norm.load(g, m, block + ".norm2"), Attention.load(g, m, block + ".attn2", modelDir),
                    Norm.load(g, m, block + ".norm3"), ffIn, Linear.matMul(g, m, block + ".ff.net.2"),
                    conv ? Conv.load(g, m, module + ".proj_out") : null,
                    conv ? null : Linear.matMul(g, m, module + ".proj_out"));
        }

        NDArray forward(NDArray x, NDArray context, SiteAdapters adapters) {
            Shape s = x.getShape();
            long b = s.get(0);
            long c = s.get(1);
            NDArray h = norm.forward(x);
            if (convIn != null) h = convIn.forward(h, adapters);
            h = h.transpose(0, 2, 3, 1).reshape(b, -1, c);
            if (linearIn != null) h = linearIn.forward(h, adapters);
            NDArray n1 = norm1.forward(h);
            h = h.add(attn1.forward(n1, n1, adapters));
            h = h.add(attn2.forward(norm2.forward(h), context, adapters));
            h = h.add(feedForward(norm3.forward(h), adapters));
            if (linearOut != null) h = linearOut.forward(h, adapters);
            h = h.transpose(0, 2, 1).reshape(s);
            if (convOut != null) h = convOut.forward(h, adapters);
            return h.add(x);
        }

        private NDArray feedForward(NDArray x, SiteAdapters adapters) {
            NDArray proj = ffIn.forward(x, adapters);
            long inner = ffIn.out() / 2;
            var halves = proj.split(new long[] {inner}, proj.getShape().dimension() - 1);
            return ffOut.forward(halves.get(0).mul(TwinLayers.gelu(halves.get(1))), adapters);
        }
    }

    /** Nearest-neighbour 2x upsampling (diffusers' Upsample2D) then its 3x3 conv. */
    record Upsample(Conv conv) {
        NDArray forward(NDArray x, Shape skip) {
            Shape s = x.getShape();
            if (skip.get(2) != 2 * s.get(2) || skip.get(3) != 2 * s.get(3)) {
                throw new dev.membrane.MembraneException("the training twin upsamples by exactly 2: latent sides must be multiples of 8 (got "
                        + s.get(2) + "x" + s.get(3) + " → " + skip.get(2) + "x" + skip.get(3) + ")");
            }
            return conv.forward(x.repeat(2, 2).repeat(3, 2), SiteAdapters.NONE);
        }
    }
}
