package dev.membrane.spm;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.onnx.Initializers;

/**
 * Closed-form SPMs (beyond the paper; the rank-1 form of UCE's closed-form edit): erase a concept in seconds with
 * no training. For each {@code attn2.to_k} / {@code attn2.to_v} weight W (out × d), with c the text encoder's
 * output at the concept's last token, c* the same for the surrogate, c_j for each preserved concept, and
 * M = λI + c cᵀ + Σ_j c_j c_jᵀ:
 * <pre>  lora_up = W (c* − c),  lora_down = M⁻¹ c,  alpha = rank = 1</pre>
 * so that W + ΔW maps c to W c* · (cᵀM⁻¹c) ≈ W c* and moves each c_j by W (c* − c) · cᵀM⁻¹c_j ≈ 0.
 * "Last token" is the last content token before EOS; for an empty prompt, the EOS position.
 *
 * <p>With {@code positions} N > 1 (an extension: the causal text encoder carries the concept into EOS and the
 * padding after it, which a last-token edit does not reach), each prompt contributes its vectors at the last token
 * and the N − 1 positions after it, pairs (c_i, c*_i) aligned by offset from each prompt's last token, and the
 * edit is UCE's least-squares solution over all pairs: M = λI + Σ_i c_i c_iᵀ + Σ_j,k c_jk c_jkᵀ,
 * ΔW = Σ_i W (c*_i − c_i)(M⁻¹ c_i)ᵀ, stored as a rank-N adapter (alpha = N, so alpha/r = 1).
 */
public final class ClosedFormDerivation {
    private ClosedFormDerivation() {
    }

    /**
     * @param concept   what to erase (also the adapter's target prompt)
     * @param surrogate what it maps to ("" by default)
     * @param preserve  concepts to keep
     * @param lambda    λ, the ridge term (0.5 by default)
     */
    public record Spec(String concept, String surrogate, List<String> preserve, double lambda, int positions) {
        public Spec {
            if (concept == null || concept.isBlank()) throw new MembraneException("a concept to erase is required");
            if (surrogate == null) surrogate = "";
            preserve = List.copyOf(preserve);
            if (!(lambda > 0)) throw new MembraneException("lambda must be > 0, got " + lambda);
            if (positions < 1 || positions > 64) throw new MembraneException("positions must be between 1 and 64, got " + positions);
        }

        /** The rank-1 form: the last token only. */
        public Spec(String concept, String surrogate, List<String> preserve, double lambda) {
            this(concept, surrogate, preserve, lambda, 1);
        }
    }

    /** The derived modules, ready to write with {@link SpmFile#write}. */
    public record Derived(List<AdapterSite> sites, List<SpmModule> modules) {
    }

    public static Derived derive(PromptEncoder encoder, Path unetFile, Spec spec) {
        List<String> prompts = new ArrayList<>();
        prompts.add(spec.concept());
        prompts.add(spec.surrogate());
        prompts.addAll(spec.preserve());
        int[][] ids = encoder.tokenize(prompts);
        TextEmbeddings e = encoder.encodeIds(ids);
        int d = e.width();
        int n = spec.positions();
        double[][] c = new double[n][];
        double[][] cStar = new double[n][];
        double[][] m = new double[d][d];
        for (int i = 0; i < d; i++) m[i][i] = spec.lambda();
        for (int k = 0; k < n; k++) {
            c[k] = tokenAfterLast(e, ids, 0, k, encoder);
            cStar[k] = tokenAfterLast(e, ids, 1, k, encoder);
            addOuter(m, c[k]);
            for (int j = 0; j < spec.preserve().size(); j++) addOuter(m, tokenAfterLast(e, ids, 2 + j, k, encoder));
        }
        double[][] down = new double[n][];
        double[][] diff = new double[n][d];
        for (int k = 0; k < n; k++) {
            down[k] = solve(m, c[k]);
            for (int i = 0; i < d; i++) diff[k][i] = cStar[k][i] - c[k][i];
        }

        ModelProto model = UNetPreparer.readModel(unetFile);
        Map<String, TensorProto> inits = new HashMap<>();
        for (TensorProto t : model.getGraph().getInitializerList()) inits.put(t.getName(), t);
        List<AdapterSite> sites = new ArrayList<>();
        List<SpmModule> modules = new ArrayList<>();
        for (AdapterSite s : AdapterSites.find(model.getGraph())) {
            if (!s.module().endsWith("attn2.to_k") && !s.module().endsWith("attn2.to_v")) continue;
            if (s.in() != d) throw new MembraneException(unetFile + ": " + s.module() + " takes " + s.in() + " features but the text encoder gives " + d);
            float[] w = Initializers.floats(inits.get(s.weightName()), unetFile.getParent()); // [in, out] = Wᵀ
            float[] up = new float[s.out() * n]; // [out, n]
            float[] dn = new float[n * d]; // [n, d]
            for (int k = 0; k < n; k++) {
                for (int o = 0; o < s.out(); o++) {
                    double v = 0;
                    for (int i = 0; i < d; i++) v += w[i * s.out() + o] * diff[k][i];
                    up[o * n + k] = (float) v;
                }
                for (int i = 0; i < d; i++) dn[k * d + i] = (float) down[k][i];
            }
            sites.add(s);
            modules.add(new SpmModule(s.key(), dn, up, n, d, s.out(), n));
        }
        if (sites.isEmpty()) throw new MembraneException(unetFile + ": no attn2 to_k/to_v sites found");
        return new Derived(sites, modules);
    }

    /** Row {@code row}'s embedding at its last content token (or EOS for an empty prompt). */
    static double[] lastToken(TextEmbeddings e, int[][] ids, int row, PromptEncoder encoder) {
        return tokenAfterLast(e, ids, row, 0, encoder);
    }

    /** Row {@code row}'s embedding {@code offset} positions after its last token, clipped to the sequence. */
    static double[] tokenAfterLast(TextEmbeddings e, int[][] ids, int row, int offset, PromptEncoder encoder) {
        int eos = encoder.tokenizer().eosId();
        int position = 1;
        while (position < ids[row].length && ids[row][position] != eos) position++;
        int last = Math.min(e.length() - 1, (position == 1 ? 1 : position - 1) + offset);
        double[] out = new double[e.width()];
        int base = (row * e.length() + last) * e.width();
        for (int i = 0; i < out.length; i++) out[i] = e.data()[base + i];
        return out;
    }

    private static void addOuter(double[][] m, double[] v) {
        for (int i = 0; i < v.length; i++) for (int j = 0; j < v.length; j++) m[i][j] += v[i] * v[j];
    }

    /** Solves M x = b for symmetric positive definite M by Cholesky decomposition. */
    static double[] solve(double[][] m, double[] b) {
        int n = b.length;
        double[][] l = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = m[i][j];
                for (int k = 0; k < j; k++) sum -= l[i][k] * l[j][k];
                if (i == j) {
                    if (sum <= 0) throw new MembraneException("matrix is not positive definite (raise lambda)");
                    l[i][i] = Math.sqrt(sum);
                } else {
                    l[i][j] = sum / l[j][j];
                }
            }
        }
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            double sum = b[i];
            for (int k = 0; k < i; k++) sum -= l[i][k] * y[k];
            y[i] = sum / l[i][i];
        }
        double[] x = new double[n];
        for (int i = n - 1; i >= 0; i--) {
            double sum = y[i];
            for (int k = i + 1; k < n; k++) sum -= l[k][i] * x[k];
            x[i] = sum / l[i][i];
        }
        return x;
    }
}
