package dev.membrane.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;

/** BPE mechanics on vocabularies the tests make, with hand-derived expectations. */
class ClipTokenizerTest {

    /** Bytes, bytes + </w>, the given merges, then BOS/EOS: CLIP's layout. */
    private static ClipTokenizer tokenizer(List<String> merges, int maxLength) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) vocab.put(String.valueOf(ByteLevelAlphabet.charOf(b)), vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(ByteLevelAlphabet.charOf(b) + "</w>", vocab.size());
        for (String m : merges) vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        vocab.put("<|startoftext|>", vocab.size());
        vocab.put("<|endoftext|>", vocab.size());
        return new ClipTokenizer(vocab, merges, vocab.get("<|startoftext|>"), vocab.get("<|endoftext|>"),
                vocab.get("<|endoftext|>"), maxLength);
    }

    /** In these test vocabularies a byte's symbol has id = byte value (CLIP itself orders printable bytes first). */
    private static int byteId(char c) {
        return c;
    }

    @Test
    void numericReferencesToNoCodePointBecomeTheReplacementCharacter() {
        // Python's html.unescape (which CLIP's basic_clean calls) maps these to U+FFFD; Commons Text alone throws
        ClipTokenizer t = tokenizer(List.of(), 77);
        int[] replaced = t.encode("a \uFFFD cat");
        assertArrayEquals(replaced, t.encode("a &#x110000; cat"));
        assertArrayEquals(replaced, t.encode("a &#xD800; cat"));
        assertArrayEquals(replaced, t.encode("a &#99999999999999999999; cat"));
        assertArrayEquals(t.encode("a & cat"), t.encode("a &amp; cat"));
        assertArrayEquals(t.encode("a \u00e9 cat"), t.encode("a &#xe9; cat"));
    }

    @Test
    void mergesByRankNotByPosition() {
        // "abab": merges "a b" (rank 0) then "ab ab</w>"? No: the last symbol is "b</w>", so the pairs are
        // a b, b a, a b</w>. Rank 0 "a b" merges the first pair only; rank 1 "a b</w>" the last.
        ClipTokenizer t = tokenizer(List.of("a b", "a b</w>", "ab ab</w>"), 77);
        List<Integer> ids = t.tokenIds("abab");
        assertEquals(1, ids.size());
        ClipTokenizer noFinal = tokenizer(List.of("a b", "a b</w>"), 77);
        assertEquals(2, noFinal.tokenIds("abab").size());
    }

    @Test
    void unmergedWordFallsBackToBytesWithEndOfWord() {
        ClipTokenizer t = tokenizer(List.of(), 77);
        // "hi": 'h' as a byte symbol, 'i</w>' as byte + 256
        assertEquals(List.of(byteId('h'), 256 + byteId('i')), t.tokenIds("hi"));
    }

    @Test
    void punctuationAndDigitsAreSeparatePreTokens() {
        ClipTokenizer t = tokenizer(List.of(), 77);
        // "a1!" → "a" "1" "!" each a word of its own: three symbols, each with </w>
        List<Integer> ids = t.tokenIds("a1!");
        assertEquals(3, ids.size());
        for (int id : ids) assertTrue(id >= 256 && id < 512, "id " + id + " should carry </w>");
    }

    @Test
    void nonAsciiUsesUtf8ByteSymbols() {
        ClipTokenizer t = tokenizer(List.of(), 77);
        // 'é' is two UTF-8 bytes (C3 A9): two symbols, the second with </w>
        assertEquals(2, t.tokenIds("é").size());
    }

    @Test
    void padsWithPadTokenAndTruncatesKeepingEos() {
        ClipTokenizer t = tokenizer(List.of(), 6);
        int bos = t.bosId();
        int eos = t.eosId();
        int[] shortIds = t.encode("a");
        assertArrayEquals(new int[] {bos, 256 + byteId('a'), eos, eos, eos, eos}, shortIds);
        int[] longIds = t.encode("a b c d e f g");
        assertEquals(6, longIds.length);
        assertEquals(bos, longIds[0]);
        assertEquals(eos, longIds[5]);
        assertEquals(256 + byteId('d'), longIds[4]);
    }

    @Test
    void specialTokenTextMapsToItsId() {
        ClipTokenizer t = tokenizer(List.of(), 77);
        assertEquals(List.of(t.eosId()), t.tokenIds("<|endoftext|>"));
    }

    @Test
    void trainedVocabularyRoundTripsThroughFiles(@TempDir Path dir) {
        BpeVocabularyTrainer.Vocabulary v = BpeVocabularyTrainer.train("snoopy snoopy snoopy cat cat", 50);
        BpeVocabularyTrainer.write(v, dir);
        ClipTokenizer t = ClipTokenizer.load(dir);
        assertEquals(v.tokenIds().size(), t.vocabSize());
        assertEquals(v.tokenIds().get("<|startoftext|>"), t.bosId());
        // frequent words become single tokens
        assertEquals(List.of(v.tokenIds().get("snoopy</w>")), t.tokenIds("snoopy"));
        assertEquals(List.of(v.tokenIds().get("cat</w>")), t.tokenIds("Cat"));
    }

    @Test
    void missingOrMalformedFilesNameTheFile(@TempDir Path dir) throws Exception {
        MembraneException missing = assertThrows(MembraneException.class, () -> ClipTokenizer.load(dir));
        assertTrue(missing.getMessage().contains("vocab.json"), missing.getMessage());
        Files.writeString(dir.resolve("vocab.json"), "[1, 2]");
        MembraneException bad = assertThrows(MembraneException.class, () -> ClipTokenizer.load(dir));
        assertTrue(bad.getMessage().contains("vocab.json"), bad.getMessage());
    }
}
