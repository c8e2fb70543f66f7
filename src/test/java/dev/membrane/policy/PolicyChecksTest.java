package dev.membrane.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.safety.ClassifierCard;
import dev.membrane.spm.catalog.AdapterCatalog;

/** A policy's prompt and output checks: parsing, judging, and the store refusing what it cannot check. */
class PolicyChecksTest {
    private static final AdapterCatalog CATALOG = AdapterCatalog.load(Path.of("adapters/catalog.json"));
    private static final String SHA = "a".repeat(64);
    private static final ClassifierCard CARD = new ClassifierCard("nsfw", List.of("Drawing", "Neutral", "Porn"),
            new ClassifierCard.Input(224, 224, "rgb/255", "bilinear-align-corners"), "model.onnx", SHA, null);

    private static PolicyDocument parse(String yaml) {
        return PolicyDocument.parse("test", yaml.getBytes(), CATALOG);
    }

    private static Policy only(String checks) {
        return parse("version: \"1\"\ndefaultPolicy: p\npolicies:\n  p:\n    concepts: []\n" + checks.indent(4)).policies().get("p");
    }

    @Test
    void theStrongestFiredRuleDecides() {
        OutputCheck check = only("""
                outputCheck:
                  classifier: nsfw
                  rules:
                    Porn: {threshold: 0.6, action: block}
                    Drawing: {threshold: 0.5, action: flag}
                """).outputCheck();
        OutputCheck.Verdict clean = check.judge(Map.of("Drawing", 0.1, "Neutral", 0.85, "Porn", 0.05));
        assertEquals(OutputAction.ALLOW, clean.action());
        assertTrue(clean.fired().isEmpty());
        OutputCheck.Verdict drawing = check.judge(Map.of("Drawing", 0.5, "Neutral", 0.45, "Porn", 0.05));
        assertEquals(OutputAction.FLAG, drawing.action(), "the threshold itself fires");
        OutputCheck.Verdict both = check.judge(Map.of("Drawing", 0.7, "Neutral", 0.0, "Porn", 0.61));
        assertEquals(OutputAction.BLOCK, both.action());
        assertEquals(2, both.fired().size());
        assertEquals("Porn 0.6100 >= 0.6 (block), Drawing 0.7000 >= 0.5 (flag)", both.describe());
        // scores without a rule's label cannot clear it
        assertEquals(OutputAction.BLOCK, check.judge(Map.of("Neutral", 1.0)).action());
    }

    @Test
    void badOutputChecksAreRefusedWhereTheyAre() {
        assertRefused("outputCheck: {classifier: nsfw, rules: {Porn: {threshold: 1.5, action: block}}}", "policy 'p': outputCheck rule 'Porn': threshold");
        assertRefused("outputCheck: {classifier: nsfw, rules: {Porn: {threshold: 0.5, action: hide}}}", "action 'hide'");
        assertRefused("outputCheck: {rules: {Porn: {threshold: 0.5, action: block}}}", "needs 'classifier'");
        assertRefused("promptCheck: {patterns: [\"(unclosed\"]}", "not a regular expression");
        // a check written wrongly must never read as no check
        assertRefused("outputcheck: {classifier: nsfw, rules: {Porn: {threshold: 0.5, action: block}}}", "unknown key 'outputcheck'");
        assertRefused("outputCheck:", "outputCheck is empty");
        assertRefused("promptCheck: {terms: gore}", "'terms' must be a list");
        assertRefused("outputCheck: {classifier: nsfw, rules: {Porn: {threshold: 0.5, action: block, treshold: 0.1}}}", "unknown key 'treshold'");
    }

    /** The policy {@code body} is refused with a message that says {@code why}. */
    private static void assertRefused(String body, String why) {
        var e = assertThrows(MembraneException.class, () -> only(body));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void promptTermsMatchWholeWordsOfTheCleanedPrompt() {
        PromptCheck check = only("""
                promptCheck:
                  terms: [Gore, "graphic  violence"]
                  patterns: ["n[u4]d(e|ity)"]
                """).promptCheck();
        assertEquals(Optional.of("term 'gore'"), check.match("a GORE scene"));
        assertEquals(Optional.of("term 'gore'"), check.match("a g&#111;re scene"), "entities are unescaped first");
        assertEquals(Optional.of("term 'graphic violence'"), check.match("graphic\n violence"), "whitespace is collapsed");
        assertEquals(Optional.empty(), check.match("gorey details, a gorgeous day"), "a term does not match inside a word");
        assertEquals(Optional.of("pattern 'n[u4]d(e|ity)'"), check.match("a N4DE statue"));
        assertEquals(Optional.of("term 'gore'"), check.match("a \uff27\uff2f\uff32\uff25 scene"), "full-width letters fold (NFKC)");
        assertEquals(Optional.of("term 'gore'"), check.match("a go\u200bre scene"), "a zero-width space does not split a term");
        assertEquals(Optional.empty(), check.match("a red circle"));
        assertEquals(Optional.empty(), only("concepts: []").promptCheck().match("gore"), "no check: nothing matches");
    }

    @Test
    void theStoreRefusesAPolicyWhoseClassifierIsMissingMispinnedOrLacksALabel(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        Files.writeString(f, """
                version: "1"
                defaultPolicy: good
                policies:
                  good:   {concepts: [], outputCheck: {classifier: nsfw, sha256: %s, rules: {Porn: {threshold: 0.6, action: block}}}}
                  absent: {concepts: [], outputCheck: {classifier: other, rules: {Porn: {threshold: 0.6, action: block}}}}
                  pinned: {concepts: [], outputCheck: {classifier: nsfw, sha256: %s, rules: {Porn: {threshold: 0.6, action: block}}}}
                  label:  {concepts: [], outputCheck: {classifier: nsfw, rules: {Hentai: {threshold: 0.6, action: block}}}}
                  plain:  {concepts: []}
                tenants:
                  t: {apps: {absent: absent, pinned: pinned, label: label, plain: plain}}
                """.formatted(SHA, "b".repeat(64)));
        PolicyStore store = PolicyStore.open(f, CATALOG, Map.of("nsfw", CARD));
        assertNull(store.decide("t", "good").refusal());
        assertTrue(store.decide("t", "absent").refusal().contains("classifier 'other', which no served model loads"));
        assertTrue(store.decide("t", "pinned").refusal().contains("not the pinned " + "b".repeat(64)));
        assertTrue(store.decide("t", "label").refusal().contains("has no label 'Hentai'"));
        // without any classifier loaded, every checked policy is refused: fail closed, with the load failure named
        PolicyStore none = PolicyStore.open(f, CATALOG, Map.of(), List.of("membrane.models.sd15.classifier /c: SHA-256 mismatch"));
        assertTrue(none.decide("t", "good").refusal().contains("failed to load: membrane.models.sd15.classifier /c: SHA-256 mismatch"),
                none.decide("t", "good").refusal());
        assertNull(none.decide("t", "plain").refusal(), "a policy without an output check keeps serving");
    }
}
