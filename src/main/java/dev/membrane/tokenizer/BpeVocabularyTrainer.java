package dev.membrane.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;

/**
 * Trains a small byte-level BPE vocabulary in CLIP's exact file format, for reference models built where the real
 * 49,408-token vocabulary is not at hand.
 *
 * <p>The vocabulary is laid out as CLIP's: the 256 byte symbols, the same 256 with {@code </w>}, one entry per
 * merge in merge order, then {@code <|startoftext|>} and {@code <|endoftext|>}. Training is greedy: merge the most
 * frequent adjacent pair, ties broken by the pair's text, so the output is a pure function of the corpus and the
 * merge budget.
 */
public final class BpeVocabularyTrainer {
    public static final String BOS = "<|startoftext|>";
    public static final String EOS = "<|endoftext|>";
    private static final Pattern WORD = Pattern.compile("[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private BpeVocabularyTrainer() {
    }

    /** A trained vocabulary: token → id, and the merges in rank order. */
    public record Vocabulary(Map<String, Integer> tokenIds, List<String> merges) {
    }

    public static Vocabulary train(String corpus, int maxMerges) {
        Map<List<String>, Integer> words = new LinkedHashMap<>();
        Matcher m = WORD.matcher(ClipTextNormalizer.normalize(corpus));
        while (m.find()) {
            String encoded = ByteLevelAlphabet.encode(m.group());
            List<String> symbols = new ArrayList<>();
            for (int i = 0; i < encoded.length(); i++) symbols.add(String.valueOf(encoded.charAt(i)));
            symbols.set(symbols.size() - 1, symbols.get(symbols.size() - 1) + "</w>");
            words.merge(symbols, 1, Integer::sum);
        }
        List<String> merges = new ArrayList<>();
        while (merges.size() < maxMerges) {
            Map<String, Integer> pairCounts = new TreeMap<>();
            for (Map.Entry<List<String>, Integer> w : words.entrySet()) {
                List<String> s = w.getKey();
                for (int i = 0; i < s.size() - 1; i++) pairCounts.merge(s.get(i) + " " + s.get(i + 1), w.getValue(), Integer::sum);
            }
            String best = null;
            int bestCount = 1; // a pair seen once is not worth a token
            for (Map.Entry<String, Integer> e : pairCounts.entrySet()) {
                if (e.getValue() > bestCount) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best == null) break;
            merges.add(best);
            String[] pair = best.split(" ");
            Map<List<String>, Integer> next = new LinkedHashMap<>();
            for (Map.Entry<List<String>, Integer> w : words.entrySet()) {
                next.merge(applyMerge(w.getKey(), pair[0], pair[1]), w.getValue(), Integer::sum);
            }
            words = next;
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> bytes = new ArrayList<>();
        for (int b = 0; b < 256; b++) if (isPrintable(b)) bytes.add(String.valueOf(ByteLevelAlphabet.charOf(b)));
        for (int b = 0; b < 256; b++) if (!isPrintable(b)) bytes.add(String.valueOf(ByteLevelAlphabet.charOf(b)));
        for (String s : bytes) vocab.put(s, vocab.size());
        for (String s : bytes) vocab.put(s + "</w>", vocab.size());
        for (String merge : merges) vocab.putIfAbsent(merge.replace(" ", ""), vocab.size());
        vocab.put(BOS, vocab.size());
        vocab.put(EOS, vocab.size());
        return new Vocabulary(vocab, merges);
    }

    private static boolean isPrintable(int b) {
        return ByteLevelAlphabet.charOf(b) == (char) b;
    }

    /** Merges every non-overlapping occurrence of (first, second), left to right, as CLIP's BPE does. */
    static List<String> applyMerge(List<String> word, String first, String second) {
        List<String> out = new ArrayList<>(word.size());
        for (int i = 0; i < word.size(); i++) {
            if (i < word.size() - 1 && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                out.add(first + second);
                i++;
            } else {
                out.add(word.get(i));
            }
        }
        return out;
    }

    /**
     * Writes {@code vocab.json}, {@code merges.txt}, {@code tokenizer_config.json} and
     * {@code special_tokens_map.json} as a diffusers export's {@code tokenizer/} folder holds them.
     */
    public static void write(Vocabulary vocabulary, Path dir) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("vocab.json"), json.writeValueAsString(vocabulary.tokenIds()));
            StringBuilder merges = new StringBuilder("#version: 0.2\n");
            for (String merge : vocabulary.merges()) merges.append(merge).append('\n');
            Files.writeString(dir.resolve("merges.txt"), merges, StandardCharsets.UTF_8);
            ObjectNode config = json.createObjectNode();
            config.put("add_prefix_space", false);
            config.put("bos_token", BOS);
            config.put("clean_up_tokenization_spaces", true);
            config.put("do_lower_case", true);
            config.put("eos_token", EOS);
            config.put("errors", "replace");
            config.put("model_max_length", 77);
            config.put("pad_token", EOS);
            config.put("tokenizer_class", "CLIPTokenizer");
            config.put("unk_token", EOS);
            Files.writeString(dir.resolve("tokenizer_config.json"), json.writeValueAsString(config));
            ObjectNode special = json.createObjectNode();
            special.put("bos_token", BOS);
            special.put("eos_token", EOS);
            special.put("pad_token", EOS);
            special.put("unk_token", EOS);
            Files.writeString(dir.resolve("special_tokens_map.json"), json.writeValueAsString(special));
        } catch (IOException e) {
            throw new MembraneException(dir + ": cannot write tokenizer files (" + e.getMessage() + ")");
        }
    }
}
