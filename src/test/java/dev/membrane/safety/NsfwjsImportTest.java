package dev.membrane.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.Hashes;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.safety.tfjs.NsfwjsImport;
import dev.membrane.testing.SafetyFixtures;

/**
 * The nsfwjs import end to end on the real package: both models convert, the cards say what the package says,
 * and on scikit-image's sample pictures the ONNX graphs give the scores that the TF.js reference (the package's
 * own {@code load}/{@code infer} on TF.js's CPU backend, in Node) gives, within 1e-4. Skips without the tarball
 * ({@code .ci/run} fetches it), and the reference part without Node and its modules.
 */
class NsfwjsImportTest {
    /** Photographs: Neutral on both models. */
    static final List<String> PHOTOS = List.of("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "camera.png");
    /** Synthetic graphics: Drawing on both models. */
    static final List<String> DRAWINGS = List.of("green_palette.png", "palette_gray.png");
    /** The silhouette drawing: Drawing on MobileNetV2 (0.56), Neutral on InceptionV3 (0.58). */
    static final String HORSE = "horse.png";
    /** Inception in TF.js's JavaScript CPU backend takes about a minute per image: two images for it. */
    static final List<String> INCEPTION_REFERENCE = List.of("astronaut.png", "green_palette.png");

    @TempDir
    static Path tmp;
    static Path tarball;
    static Path mobilenet;
    static Path inception;
    static OrtRuntime runtime;

    @BeforeAll
    static void importBoth() {
        tarball = SafetyFixtures.nsfwjsTarball().orElse(null);
        Assumptions.assumeTrue(tarball != null, "no nsfwjs-4.4.0.tgz in " + SafetyFixtures.cache() + " (.ci/run fetches it with npm pack)");
        mobilenet = tmp.resolve("mobilenet");
        inception = tmp.resolve("inception");
        NsfwjsImport.run(tarball, "mobilenet_v2", null, mobilenet);
        NsfwjsImport.run(tarball, "inception_v3", null, inception);
        runtime = OrtRuntime.create(RuntimeConfig.cpuDefaults());
    }

    @Test
    void cardsRecordThePackage() throws IOException {
        ClassifierCard m = ClassifierCard.read(mobilenet);
        ClassifierCard i = ClassifierCard.read(inception);
        assertEquals(List.of("Drawing", "Hentai", "Neutral", "Porn", "Sexy"), m.labels());
        assertEquals(m.labels(), i.labels());
        assertEquals(224, m.input().height());
        assertEquals(299, i.input().width());
        assertEquals("nsfwjs-mobilenet_v2", m.id());
        assertEquals("4.4.0", m.source().version());
        assertEquals(Hashes.sha256(tarball), m.source().sha256());
        assertEquals(Hashes.sha256(mobilenet.resolve("model.onnx")), m.modelSha256());
    }

    @Test
    void photographsAreNeutralAndDrawingsDrawing() {
        Path data = skimage();
        for (Path dir : List.of(mobilenet, inception)) {
            try (ImageClassifier c = ImageClassifier.open(runtime, dir)) {
                List<String> files = new ArrayList<>(PHOTOS);
                files.addAll(DRAWINGS);
                List<ImageClassifier.Scores> s = c.classify(files.stream().map(f -> ImageClassifier.readImage(data.resolve(f))).toList());
                for (int k = 0; k < files.size(); k++) {
                    String expected = k < PHOTOS.size() ? "Neutral" : "Drawing";
                    assertEquals(expected, s.get(k).top(), c.card().id() + " on " + files.get(k) + ": " + s.get(k).byLabel());
                }
            }
        }
        try (ImageClassifier c = ImageClassifier.open(runtime, mobilenet)) {
            assertEquals("Drawing", c.classify(List.of(ImageClassifier.readImage(data.resolve(HORSE)))).get(0).top());
        }
    }

    @Test
    void aChangedGraphIsRefused() throws IOException {
        Path copy = tmp.resolve("tampered");
        Files.createDirectories(copy);
        Files.copy(mobilenet.resolve(ClassifierCard.FILE), copy.resolve(ClassifierCard.FILE));
        byte[] graph = Files.readAllBytes(mobilenet.resolve("model.onnx"));
        graph[graph.length - 1] ^= 1;
        Files.write(copy.resolve("model.onnx"), graph);
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.membrane.MembraneException.class, () -> ImageClassifier.open(runtime, copy));
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
    }

    /** The labels are under the graph's pin: a card whose labels were reordered does not load. */
    @Test
    void aCardWithReorderedLabelsIsRefused() throws IOException {
        Path copy = tmp.resolve("relabelled");
        Files.createDirectories(copy);
        Files.copy(mobilenet.resolve("model.onnx"), copy.resolve("model.onnx"));
        ClassifierCard c = ClassifierCard.read(mobilenet);
        List<String> swapped = new ArrayList<>(c.labels());
        java.util.Collections.swap(swapped, 2, 3);
        new ClassifierCard(c.id(), swapped, c.input(), c.model(), c.modelSha256(), c.source()).write(copy);
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.membrane.MembraneException.class, () -> ImageClassifier.open(runtime, copy));
        assertTrue(e.getMessage().contains("are not its card's"), e.getMessage());
    }

    @Test
    void scoresMatchTheTfjsReference() throws Exception {
        Path data = skimage();
        Path modules = SafetyFixtures.nodeModules().orElse(null);
        Assumptions.assumeTrue(modules != null && nodeWorks(), "no node with nsfwjs, @tensorflow/tfjs and pngjs in " + SafetyFixtures.cache());
        List<String> mobileFiles = new ArrayList<>(PHOTOS);
        mobileFiles.addAll(DRAWINGS);
        mobileFiles.add(HORSE);
        // both references at once, one core each
        Process mobileRef = reference(modules, "MobileNetV2", data, mobileFiles);
        // -Dmembrane.nsfwjs.inception-all=true checks InceptionV3 on every picture too (about 8 minutes more)
        List<String> inceptionFiles = Boolean.getBoolean("membrane.nsfwjs.inception-all") ? mobileFiles : INCEPTION_REFERENCE;
        Process inceptionRef = reference(modules, "InceptionV3", data, inceptionFiles);
        compare(mobilenet, data, mobileFiles, read(mobileRef));
        compare(inception, data, inceptionFiles, read(inceptionRef));
    }

    private static void compare(Path dir, Path data, List<String> files, Map<String, JsonNode> reference) {
        try (ImageClassifier c = ImageClassifier.open(runtime, dir)) {
            List<ImageClassifier.Scores> s = c.classify(files.stream().map(f -> ImageClassifier.readImage(data.resolve(f))).toList());
            double largest = 0;
            for (int k = 0; k < files.size(); k++) {
                JsonNode ref = reference.get(data.resolve(files.get(k)).toString());
                assertTrue(ref != null, "no reference line for " + files.get(k));
                for (String label : c.card().labels()) {
                    double expected = ref.path("scores").path(label).asDouble(Double.NaN);
                    double actual = s.get(k).byLabel().get(label);
                    assertEquals(expected, actual, 1e-4, c.card().id() + " " + files.get(k) + " " + label);
                    largest = Math.max(largest, Math.abs(expected - actual));
                }
            }
            System.err.printf("%s: %d pictures, largest score difference from TF.js %.2e%n", c.card().id(), files.size(), largest);
        }
    }

    private static Process reference(Path modules, String model, Path data, List<String> files) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("node", Path.of("src/test/node/nsfwjs-reference.cjs").toAbsolutePath().toString(), model));
        files.forEach(f -> cmd.add(data.resolve(f).toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("NODE_PATH", modules.toString());
        return pb.start();
    }

    private static Map<String, JsonNode> read(Process p) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the TF.js reference did not finish");
        assertEquals(0, p.exitValue(), "the TF.js reference failed: " + out);
        Map<String, JsonNode> byFile = new HashMap<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : out.lines().filter(l -> l.startsWith("{")).toList()) {
            JsonNode n = json.readTree(line);
            byFile.put(n.path("file").asText(), n);
        }
        return byFile;
    }

    private static boolean nodeWorks() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static Path skimage() {
        Path data = SafetyFixtures.skimageData().orElse(null);
        Assumptions.assumeTrue(data != null, "no scikit-image sample data (python3-skimage) in " + SafetyFixtures.cache());
        return data;
    }
}
