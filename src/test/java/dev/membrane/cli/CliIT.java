package dev.membrane.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainIntegrationTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged application ({@code java -jar target/quarkus-app/quarkus-run.jar}) run as a separate process, as a
 * user runs it: results on stdout, logs and errors on stderr, exit codes.
 */
@QuarkusMainIntegrationTest
class CliIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode onlyJsonLine(LaunchResult r) throws Exception {
        List<String> lines = r.getOutputStream();
        assertEquals(1, lines.size(), "stdout must hold exactly the JSON result: " + lines);
        return JSON.readTree(lines.get(0));
    }

    @Test
    void referenceThenGenerateIsByteIdenticalForTheSameSeed(QuarkusMainLauncher launcher, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        LaunchResult built = launcher.launch("model", "reference", "--out", model.toString());
        assertEquals(0, built.exitCode(), built.getErrorOutput());
        assertEquals("tiny", onlyJsonLine(built).get("preset").asText());

        Path a = dir.resolve("a.png");
        Path b = dir.resolve("b.png");
        String[] common = {"generate", "--model", model.toString(), "--prompt", "a photo of a cat", "--seed", "42",
                "--steps", "8", "--scheduler", "ddim"};
        LaunchResult first = launcher.launch(concat(common, "--out", a.toString()));
        assertEquals(0, first.exitCode(), first.getErrorOutput());
        LaunchResult second = launcher.launch(concat(common, "--out", b.toString()));
        assertEquals(0, second.exitCode(), second.getErrorOutput());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));

        JsonNode summary = onlyJsonLine(first);
        assertEquals(42, summary.get("seed").asLong());
        assertEquals(64, summary.get("width").asInt());
        assertEquals("ddim", summary.get("scheduler").asText());
        assertTrue(summary.get("device").asText().matches("cpu|cuda:\\d+"), summary.toString());
        assertEquals(8, summary.get("timingsMs").get("unetCalls").asInt());
        assertEquals(GenerateCommand.sha256(Files.readAllBytes(a)), summary.get("images").get(0).get("sha256").asText());
        for (String stage : List.of("tokenize", "textEncoder", "denoise", "vaeDecoder", "png", "total")) {
            assertTrue(summary.get("timingsMs").has(stage), stage);
        }
    }

    @Test
    void severalPromptsShareOneRunAndGetIndexedFiles(QuarkusMainLauncher launcher, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        assertEquals(0, launcher.launch("model", "reference", "--out", model.toString()).exitCode());
        LaunchResult r = launcher.launch("generate", "--model", model.toString(), "--prompt", "a cat", "--prompt", "a dog",
                "--seed", "5", "--steps", "3", "--out", dir.resolve("img.png").toString());
        assertEquals(0, r.exitCode(), r.getErrorOutput());
        JsonNode summary = onlyJsonLine(r);
        assertEquals(2, summary.get("images").size());
        assertEquals(6, summary.get("images").get(1).get("seed").asLong());
        assertTrue(Files.exists(dir.resolve("img-0.png")) && Files.exists(dir.resolve("img-1.png")));
    }

    @Test
    void tokenizePrintsOneJsonLinePerTextAndNothingElse(QuarkusMainLauncher launcher, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        assertEquals(0, launcher.launch("model", "reference", "--out", model.toString()).exitCode());
        LaunchResult r = launcher.launch("tokenize", "--model", model.toString(), "a photo of a cat", "snoopy");
        assertEquals(0, r.exitCode(), r.getErrorOutput());
        List<String> lines = r.getOutputStream();
        assertEquals(2, lines.size(), lines.toString());
        JsonNode first = JSON.readTree(lines.get(0));
        assertEquals("a photo of a cat", first.get("text").asText());
        assertEquals(77, first.get("input_ids").size());
        JsonNode vocab = JSON.readTree(model.resolve("tokenizer/vocab.json").toFile());
        assertEquals(vocab.get("<|startoftext|>").asInt(), first.get("input_ids").get(0).asInt());
        assertEquals(vocab.get("snoopy</w>").asInt(), JSON.readTree(lines.get(1)).get("input_ids").get(1).asInt());
    }

    @Test
    void badInputExitsNonZeroWithOneLineNamingTheFile(QuarkusMainLauncher launcher, @TempDir Path dir) throws Exception {
        LaunchResult missing = launcher.launch("generate", "--model", dir.resolve("nope").toString(), "--prompt", "x",
                "--out", dir.resolve("x.png").toString());
        assertEquals(1, missing.exitCode());
        assertOneErrorLine(missing, dir.resolve("nope") + ": model folder does not exist");

        Path model = dir.resolve("tiny");
        assertEquals(0, launcher.launch("model", "reference", "--out", model.toString()).exitCode());
        Files.writeString(model.resolve("unet/model.onnx"), "not a model");
        LaunchResult broken = launcher.launch("generate", "--model", model.toString(), "--prompt", "x",
                "--out", dir.resolve("x.png").toString());
        assertEquals(1, broken.exitCode());
        assertOneErrorLine(broken, model.resolve("unet/model.onnx") + ": creating the UNet session failed");
        assertFalse(Files.exists(dir.resolve("x.png")));

        LaunchResult badSize = launcher.launch("generate", "--model", model.toString(), "--prompt", "x", "--width", "65",
                "--out", dir.resolve("x.png").toString());
        assertEquals(1, badSize.exitCode());
        assertOneErrorLine(badSize, "width and height must be positive multiples of 8");

        LaunchResult badPreset = launcher.launch("model", "reference", "--out", dir.resolve("m").toString(), "--preset", "xl");
        assertEquals(1, badPreset.exitCode());
        assertOneErrorLine(badPreset, "unknown preset 'xl'");
    }

    @Test
    void prepareInspectDeriveAndGenerateWithAdapters(QuarkusMainLauncher launcher, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        assertEquals(0, launcher.launch("model", "reference", "--out", model.toString()).exitCode());

        LaunchResult prepared = launcher.launch("model", "prepare", "--model", model.toString(), "--slots", "4");
        assertEquals(0, prepared.exitCode(), prepared.getErrorOutput());
        assertEquals(192, onlyJsonLine(prepared).get("sites").asInt());
        assertTrue(Files.exists(model.resolve("unet/model.spm.onnx")));

        Path spm = dir.resolve("cat.safetensors");
        LaunchResult derived = launcher.launch("spm", "derive", "--model", model.toString(), "--concept", "cat",
                "--preserve", "a photo of a dog", "--out", spm.toString());
        assertEquals(0, derived.exitCode(), derived.getErrorOutput());
        JsonNode d = onlyJsonLine(derived);
        assertEquals(32, d.get("modules").asInt());

        LaunchResult inspected = launcher.launch("spm", "inspect", spm.toString(), "--model", model.toString());
        assertEquals(0, inspected.exitCode(), inspected.getErrorOutput());
        JsonNode i = onlyJsonLine(inspected);
        assertEquals(d.get("sha256").asText(), i.get("sha256").asText());
        assertEquals(GenerateCommand.sha256(Files.readAllBytes(spm)), i.get("sha256").asText());
        assertEquals(1, i.get("rank").asInt());
        assertEquals("cat", i.get("prompts").get(0).asText());
        assertEquals("f32", i.get("dtype").asText());
        assertEquals(32, i.get("sitesMatched").asInt());
        assertEquals(160, i.get("sitesUnmatched").asInt());

        Path ref = Path.of("adapters/snoopy.safetensors").toAbsolutePath();
        LaunchResult gen = launcher.launch("generate", "--model", model.toString(), "--prompt", "a photo of a cat", "--seed", "1",
                "--steps", "4", "--spm", spm + ":1.5", "--spm", ref.toString(), "--transport", "fixed", "--stacking", "official",
                "--out", dir.resolve("o.png").toString());
        assertEquals(0, gen.exitCode(), gen.getErrorOutput());
        JsonNode g = onlyJsonLine(gen);
        assertEquals("official", g.get("stacking").asText());
        assertEquals(2, g.get("gammaPower").asInt());
        assertEquals(2, g.get("adapters").size());
        JsonNode first = g.get("adapters").get(0);
        assertEquals(d.get("sha256").asText(), first.get("sha256").asText());
        assertEquals(1.5, first.get("gamma").asDouble());
        assertTrue(first.get("sf").isNull() && first.get("st").isNull(), "fixed transport computes no scores");
        assertEquals(1.0, g.get("adapters").get(1).get("gamma").asDouble());

        LaunchResult facilitated = launcher.launch("generate", "--model", model.toString(), "--prompt", "a photo of a cat",
                "--seed", "1", "--steps", "4", "--spm", spm.toString(), "--transport-factor", "2", "--out", dir.resolve("f.png").toString());
        assertEquals(0, facilitated.exitCode(), facilitated.getErrorOutput());
        JsonNode a = onlyJsonLine(facilitated).get("adapters").get(0);
        assertEquals(1.0, a.get("st").asDouble(), 1e-12, "'cat' is in the prompt");
        assertEquals(2.0, a.get("gamma").asDouble(), 1e-9);
    }

    @Test
    void damagedSpmFileIsOneLine(QuarkusMainLauncher launcher, @TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[] {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        LaunchResult r = launcher.launch("spm", "inspect", bad.toString());
        assertEquals(1, r.exitCode());
        assertOneErrorLine(r, bad + ": damaged safetensors file at byte 0");
    }

    private static void assertOneErrorLine(LaunchResult r, String expectedStart) {
        List<String> errors = r.getErrorStream().stream().filter(l -> l.startsWith("membrane: error: ")).toList();
        assertEquals(1, errors.size(), r.getErrorOutput());
        assertTrue(errors.get(0).startsWith("membrane: error: " + expectedStart), errors.get(0));
        assertFalse(r.getErrorOutput().contains("\tat "), "no stack trace: " + r.getErrorOutput());
        assertTrue(r.getOutput().isEmpty(), "stdout must stay empty on error: " + r.getOutput());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void trainClassifierThenEvaluateWriteTheirReports(QuarkusMainLauncher launcher, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        assertEquals(0, launcher.launch("model", "reference", "--out", model.toString()).exitCode());
        Path classifier = dir.resolve("classifier.onnx");
        LaunchResult trained = launcher.launch("model", "train-classifier", "--out", classifier.toString(), "--steps", "2", "--seed", "3");
        assertEquals(0, trained.exitCode(), trained.getErrorOutput());
        JsonNode report = onlyJsonLine(trained);
        assertEquals(2, report.get("steps").asInt());
        for (String head : List.of("shape", "colour", "background", "style")) {
            assertTrue(report.get("accuracy").get(head).isNumber(), head);
            assertEquals(report.get("heldOut").get("images").asInt(), sum(report.get("confusion").get(head).get("counts")), head);
        }
        assertEquals(report, JSON.readTree(dir.resolve("classifier.json").toFile()));

        Path spm = dir.resolve("circle.safetensors");
        assertEquals(0, launcher.launch("spm", "derive", "--model", model.toString(), "--concept", "circle", "--out", spm.toString()).exitCode());
        Path out = dir.resolve("eval");
        LaunchResult r = launcher.launch("evaluate", "--model", model.toString(), "--spm", spm.toString(), "--seeds", "1", "--steps", "2",
                "--classifier", classifier.toString(), "--out", out.toString());
        assertEquals(0, r.exitCode(), r.getErrorOutput());
        JsonNode summary = onlyJsonLine(r);
        assertEquals("erasure", summary.get("mode").asText());
        assertEquals("circle", summary.get("concepts").get(0).get("concept").asText());
        assertEquals(2 * 36, summary.get("images").asInt());
        for (String f : List.of("report.md", "report.json", "grid.png", "bars.png")) assertTrue(Files.size(out.resolve(f)) > 0, f);
    }

    private static int sum(JsonNode rows) {
        int n = 0;
        for (JsonNode row : rows) for (JsonNode v : row) n += v.asInt();
        return n;
    }

    /**
     * SIGTERM to {@code generate} in the middle of its UNet loop: exit 143 once the running ONNX Runtime call
     * returns, no fatal-error report and no image (ONNX Runtime's own shutdown hook used to crash it, exit 134).
     */
    @Test
    void sigtermDuringGenerateExits143WithoutACrash(@TempDir Path dir) throws Exception {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar").toAbsolutePath();
        Path model = Path.of("models", "shapes").toAbsolutePath();
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:ErrorFile=/dev/null",
                "-jar", jar.toString(), "generate", "--model", model.toString(), "--prompt", "a red circle", "--steps", "900",
                "--seed", "1", "--out", dir.resolve("never.png").toString())
                .directory(dir.toFile()).redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile()).start();
        long deadline = System.nanoTime() + 120_000_000_000L;
        // the session log line comes before the UNet loop starts
        while (!Files.readString(dir.resolve("stderr")).contains("running on CPU") && !Files.readString(dir.resolve("stderr")).contains("CUDA")
                && System.nanoTime() < deadline && p.isAlive()) {
            Thread.sleep(100);
        }
        Thread.sleep(2_000);
        assertTrue(p.isAlive(), "generate ended before the signal: " + Files.readString(dir.resolve("stderr")));
        p.toHandle().destroy();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "generate did not exit on SIGTERM");
        String err = Files.readString(dir.resolve("stderr"));
        String out = Files.readString(dir.resolve("stdout"));
        assertEquals(143, p.exitValue(), "exit " + p.exitValue() + " (134: crashed in ONNX Runtime): " + out + err);
        assertTrue(err.contains("SIGTERM: exiting once the ONNX Runtime calls in flight return"), err);
        assertFalse(out.contains("fatal error") || err.contains("fatal error"), out + err);
        assertFalse(Files.exists(dir.resolve("never.png")));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith("hs_err")), "a JVM crash report was left");
        }
    }
}
