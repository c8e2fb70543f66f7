package dev.membrane.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.membrane.testing.SharedReference;

/** The real SD 1.x vocabulary against ids computed by OpenAI's reference CLIP tokenizer. */
class ClipTokenizerGoldenTest {

    @Test
    void reproducesEveryGoldenId() throws Exception {
        Path dir = SharedReference.require("sd15-tokenizer");
        ClipTokenizer tokenizer = ClipTokenizer.load(dir);
        assertEquals(49406, tokenizer.bosId());
        assertEquals(49407, tokenizer.eosId());
        assertEquals(49407, tokenizer.padId());
        assertEquals(77, tokenizer.maxLength());
        assertEquals(49408, tokenizer.vocabSize());
        List<String> lines = Files.readAllLines(dir.resolve("golden-ids.jsonl"));
        ObjectMapper json = new ObjectMapper();
        int checked = 0;
        for (String line : lines) {
            if (line.isBlank()) continue;
            JsonNode n = json.readTree(line);
            int[] expected = new int[n.get("input_ids").size()];
            for (int i = 0; i < expected.length; i++) expected[i] = n.get("input_ids").get(i).asInt();
            assertArrayEquals(expected, tokenizer.encode(n.get("text").asText()), n.get("text").asText());
            checked++;
        }
        assertTrue(checked >= 8, "golden file had " + checked + " lines");
    }

    @Test
    void truncatesToSeventySixTokensKeepingEos() {
        ClipTokenizer tokenizer = ClipTokenizer.load(SharedReference.require("sd15-tokenizer"));
        int[] ids = tokenizer.encode("cat ".repeat(200));
        assertEquals(77, ids.length);
        assertEquals(49406, ids[0]);
        assertEquals(49407, ids[76]);
        for (int i = 1; i < 76; i++) assertEquals(2368, ids[i], "position " + i); // "cat</w>"
    }

    @Test
    void knownWordPiecesOfTheRealVocabulary() {
        ClipTokenizer tokenizer = ClipTokenizer.load(SharedReference.require("sd15-tokenizer"));
        // whitespace collapse, case folding and HTML entities give the same ids as the plain text
        assertArrayEquals(tokenizer.encode("a photo of a cat"), tokenizer.encode("  A   PHOTO\tof a&#32;cat "));
        assertArrayEquals(tokenizer.encode("mickey & mouse"), tokenizer.encode("mickey &amp; mouse"));
        assertEquals(List.of(320, 1125, 539, 320, 2368), tokenizer.tokenIds("a photo of a cat"));
    }
}
