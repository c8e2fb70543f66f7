package dev.membrane.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.MembraneException;

/**
 * The CLIP BPE tokenizer of Stable Diffusion 1.x, equivalent to Hugging Face's {@code CLIPTokenizer} (and OpenAI's
 * reference {@code SimpleTokenizer}) over the {@code tokenizer/} folder of a diffusers export.
 *
 * <p>Steps: {@link ClipTextNormalizer} (NFC, HTML unescape, whitespace collapse, lowercase); CLIP's pre-tokenisation
 * pattern; UTF-8 bytes mapped through {@link ByteLevelAlphabet}; byte-level BPE where the last symbol of each word
 * carries {@code </w>}; then {@code BOS + at most (maxLength - 2) tokens + EOS}, padded with the pad token.
 *
 * <p>Thread-safe: immutable apart from a concurrent cache of BPE results per word.
 */
public final class ClipTokenizer {
    /** CLIP's pre-tokenisation pattern; Python's {@code regex} with IGNORECASE, Unicode classes. */
    private static final Pattern PRE_TOKENIZE = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    /** CLIPTokenizer reads at most this many merges (vocabulary 49152 minus bytes and specials). */
    private static final int MAX_MERGES = 49152 - 256 - 2;
    private static final String END_OF_WORD = "</w>";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Integer> vocab;
    private final Map<String, Integer> mergeRanks;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int maxLength;
    private final Map<String, Integer> specialTokens;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    ClipTokenizer(Map<String, Integer> vocab, List<String> merges, int bosId, int eosId, int padId, int maxLength) {
        if (maxLength < 2) throw new MembraneException("tokenizer max length must be at least 2, got " + maxLength);
        this.vocab = Map.copyOf(vocab);
        Map<String, Integer> ranks = new HashMap<>();
        for (int i = 0; i < Math.min(merges.size(), MAX_MERGES); i++) ranks.putIfAbsent(merges.get(i), i);
        this.mergeRanks = ranks;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.maxLength = maxLength;
        Map<String, Integer> specials = new HashMap<>();
        for (String text : List.of("<|startoftext|>", "<|endoftext|>")) {
            Integer id = vocab.get(text);
            if (id != null) specials.put(text, id);
        }
        this.specialTokens = Map.copyOf(specials);
    }

    /** The text cleanup CLIP applies before BPE (entities, NFC, whitespace, lower case): what prompt checks match on. */
    public static String cleanText(String text) {
        return ClipTextNormalizer.normalize(text);
    }

    /**
     * Loads {@code vocab.json}, {@code merges.txt}, {@code tokenizer_config.json} and, when present,
     * {@code special_tokens_map.json} from a diffusers {@code tokenizer/} folder.
     */
    public static ClipTokenizer load(Path dir) {
        Map<String, Integer> vocab;
        Path vocabFile = dir.resolve("vocab.json");
        try {
            vocab = JSON.readValue(Files.readString(vocabFile), new TypeReference<Map<String, Integer>>() { });
        } catch (NoSuchFileException e) {
            throw new MembraneException(vocabFile + ": missing tokenizer vocabulary");
        } catch (IOException e) {
            throw new MembraneException(vocabFile + ": not a JSON object of token to id (" + e.getMessage() + ")");
        }
        List<String> merges = readMerges(dir.resolve("merges.txt"));
        JsonNode config = readJsonOrEmpty(dir.resolve("tokenizer_config.json"));
        JsonNode special = readJsonOrEmpty(dir.resolve("special_tokens_map.json"));
        String bos = tokenText(special, config, "bos_token", "<|startoftext|>");
        String eos = tokenText(special, config, "eos_token", "<|endoftext|>");
        String pad = tokenText(special, config, "pad_token", eos);
        int maxLength = config.path("model_max_length").asInt(77);
        if (maxLength > 10_000) maxLength = 77; // transformers writes a huge sentinel when unset
        return new ClipTokenizer(vocab, merges, idOf(vocab, bos, vocabFile), idOf(vocab, eos, vocabFile),
                idOf(vocab, pad, vocabFile), maxLength);
    }

    private static List<String> readMerges(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<String> merges = new ArrayList<>(lines.size());
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (i == 0 && line.startsWith("#version")) continue;
                if (line.isBlank()) continue;
                if (line.split(" ").length != 2) {
                    throw new MembraneException(file + ": line " + (i + 1) + " is not a merge of two symbols");
                }
                merges.add(line);
            }
            return merges;
        } catch (NoSuchFileException e) {
            throw new MembraneException(file + ": missing tokenizer merges");
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    private static JsonNode readJsonOrEmpty(Path file) {
        if (!Files.exists(file)) return JSON.createObjectNode();
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new MembraneException(file + ": not valid JSON (" + e.getMessage() + ")");
        }
    }

    /** A special token is written either as a string or as an AddedToken object with {@code content}. */
    private static String tokenText(JsonNode special, JsonNode config, String key, String fallback) {
        for (JsonNode source : List.of(special, config)) {
            JsonNode node = source.get(key);
            if (node == null || node.isNull()) continue;
            if (node.isTextual()) return node.asText();
            if (node.has("content")) return node.get("content").asText();
        }
        return fallback;
    }

    private static int idOf(Map<String, Integer> vocab, String token, Path vocabFile) {
        Integer id = vocab.get(token);
        if (id == null) throw new MembraneException(vocabFile + ": special token " + token + " is not in the vocabulary");
        return id;
    }

    /** Token ids of {@code text} without BOS, EOS, padding or truncation. */
    public List<Integer> tokenIds(String text) {
        List<Integer> ids = new ArrayList<>();
        Matcher m = PRE_TOKENIZE.matcher(ClipTextNormalizer.normalize(text));
        while (m.find()) {
            String piece = m.group();
            Integer special = specialTokens.get(piece);
            if (special != null) {
                ids.add(special); // CLIP's BPE cache maps the special tokens to themselves
                continue;
            }
            for (int id : cache.computeIfAbsent(piece, this::bpeIds)) ids.add(id);
        }
        return ids;
    }

    /** {@code BOS + ids (truncated to maxLength - 2) + EOS}, padded with the pad token to {@link #maxLength()}. */
    public int[] encode(String text) {
        List<Integer> ids = tokenIds(text);
        int[] out = new int[maxLength];
        java.util.Arrays.fill(out, padId);
        out[0] = bosId;
        int n = Math.min(ids.size(), maxLength - 2);
        for (int i = 0; i < n; i++) out[i + 1] = ids.get(i);
        out[n + 1] = eosId;
        return out;
    }

    private int[] bpeIds(String word) {
        String[] symbols = bpe(ByteLevelAlphabet.encode(word));
        int[] ids = new int[symbols.length];
        for (int i = 0; i < symbols.length; i++) {
            Integer id = vocab.get(symbols[i]);
            if (id == null) {
                throw new MembraneException("tokenizer: symbol '" + symbols[i] + "' of word '" + word
                        + "' is not in the vocabulary (vocab.json and merges.txt disagree)");
            }
            ids[i] = id;
        }
        return ids;
    }

    /** Byte-level BPE over one pre-token: repeatedly merge the adjacent pair of lowest merge rank. */
    private String[] bpe(String token) {
        List<String> word = new ArrayList<>(token.length());
        for (int i = 0; i < token.length(); i++) word.add(String.valueOf(token.charAt(i)));
        int last = word.size() - 1;
        word.set(last, word.get(last) + END_OF_WORD);
        while (word.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestFirst = null;
            String bestSecond = null;
            for (int i = 0; i < word.size() - 1; i++) {
                Integer rank = mergeRanks.get(word.get(i) + " " + word.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    bestFirst = word.get(i);
                    bestSecond = word.get(i + 1);
                }
            }
            if (bestFirst == null) break;
            word = BpeVocabularyTrainer.applyMerge(word, bestFirst, bestSecond);
        }
        return word.toArray(String[]::new);
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int padId() {
        return padId;
    }

    public int maxLength() {
        return maxLength;
    }

    public int vocabSize() {
        return vocab.size();
    }
}
