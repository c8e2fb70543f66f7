package dev.membrane.spm.transport;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.spm.SpmFile;

/**
 * SPM's Facilitated Transport with the serving model's own tokenizer T and text encoder E. For target prompts
 * e_1..e_n of an adapter and a request prompt p:
 * <ul>
 *   <li>s_f(e) = cosine(flatten(E(p)), flatten(E(e))): one cosine over the whole padded 77 × d sequence;</li>
 *   <li>s_t(e) = |ids(p) ∩ ids(e) \ S| / |ids(e) \ S| over sets of token ids, S = {BOS, EOS, pad};</li>
 *   <li>γ = factor · max_i max(s_f(e_i), s_t(e_i)), or a fixed γ; never below the transport's minimum.</li>
 * </ul>
 * γ is computed once per request and applies to every step and both guidance halves. Target prompts' embeddings
 * and token sets are cached per adapter (SHA-256); one instance serves one model. Thread-safe.
 */
public final class FacilitatedTransport {
    private final PromptEncoder encoder;
    private final Map<String, List<Concept>> cache = new ConcurrentHashMap<>();

    /** A target prompt as the model sees it. */
    record Concept(String prompt, float[] embedding, Set<Integer> tokens) {
    }

    public FacilitatedTransport(PromptEncoder encoder) {
        this.encoder = encoder;
    }

    /** γ and its evidence for one adapter, given the request prompt's embedding [77·d] and ids. */
    public TransportScore score(SpmFile adapter, Transport transport, float[] promptEmbedding, int[] promptIds) {
        if (transport.kind() == Transport.Kind.FIXED) return new TransportScore(Double.NaN, Double.NaN, transport.value());
        Set<Integer> promptTokens = contentTokens(promptIds);
        double sf = -1;
        double st = 0;
        for (Concept c : concepts(adapter)) {
            sf = Math.max(sf, cosine(promptEmbedding, c.embedding()));
            st = Math.max(st, overlap(promptTokens, c.tokens()));
        }
        double gamma = Math.max(transport.minimum(), transport.value() * Math.max(sf, st));
        return new TransportScore(sf, st, gamma);
    }

    private List<Concept> concepts(SpmFile adapter) {
        return cache.computeIfAbsent(adapter.sha256(), k -> {
            List<String> prompts = adapter.prompts();
            int[][] ids = encoder.tokenize(prompts);
            TextEmbeddings e = encoder.encodeIds(ids);
            return java.util.stream.IntStream.range(0, prompts.size())
                    .mapToObj(i -> new Concept(prompts.get(i), e.row(i), contentTokens(ids[i]))).toList();
        });
    }

    Set<Integer> contentTokens(int[] ids) {
        var t = encoder.tokenizer();
        Set<Integer> out = new HashSet<>();
        for (int id : ids) if (id != t.bosId() && id != t.eosId() && id != t.padId()) out.add(id);
        return out;
    }

    /** |p ∩ e| / |e|; 0 for an empty e. */
    static double overlap(Set<Integer> prompt, Set<Integer> concept) {
        if (concept.isEmpty()) return 0;
        int shared = 0;
        for (int id : concept) if (prompt.contains(id)) shared++;
        return shared / (double) concept.size();
    }

    static double cosine(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("embedding sizes differ: " + a.length + " vs " + b.length);
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }
}
