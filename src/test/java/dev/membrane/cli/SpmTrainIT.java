package dev.membrane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.spm.SpmFile;
import dev.membrane.training.TrainingCheckpoint;

/**
 * {@code spm train} as an operator runs it, the packaged jar in its own process: SIGKILL mid-run leaves a loadable
 * adapter and checkpoint, Ctrl-C (SIGINT) checkpoints and exits 130, {@code --resume} finishes the run, and CUDA
 * without its natives is one line naming what to add.
 */
class SpmTrainIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JAR = "target/quarkus-app/quarkus-run.jar";
    /**
     * A test JVM started in the background of a non-interactive shell ({@code cmd &}, nohup) ignores SIGINT, every
     * child inherits the ignore, and a JVM that starts with SIGINT ignored never installs its handler: the Ctrl-C
     * below would be lost and the run would finish instead. {@code env --default-signal=INT} (coreutils 8.31+)
     * gives the child the default disposition an operator's terminal gives it.
     */
    private static final List<String> SIGINT_AS_AT_A_TERMINAL = sigintResetPrefix();

    private static List<String> sigintResetPrefix() {
        try {
            Process probe = new ProcessBuilder("env", "--default-signal=INT", "true").redirectErrorStream(true).start();
            probe.getInputStream().readAllBytes();
            return probe.waitFor() == 0 ? List.of("env", "--default-signal=INT") : List.of();
        } catch (IOException | InterruptedException e) {
            return List.of();
        }
    }

    /** A running {@code spm train}: stdout collected, stderr watched for progress lines. */
    private record Run(Process process, CompletableFuture<String> stdout, List<String> stderr, CountDownLatch progress) {
        static Run start(Path dataDir, String... args) throws IOException {
            List<String> cmd = new ArrayList<>(SIGINT_AS_AT_A_TERMINAL);
            cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Dmembrane.data-dir=" + dataDir, "-jar", JAR, "spm", "train"));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).start();
            List<String> err = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch progress = new CountDownLatch(2);
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        err.add(line);
                        if (line.startsWith("spm train [")) progress.countDown();
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            });
            t.setDaemon(true);
            t.start();
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return "";
                }
            });
            return new Run(p, out, err, progress);
        }

        void awaitProgress() throws InterruptedException {
            assertTrue(progress.await(120, TimeUnit.SECONDS), "no progress on stderr: " + stderr);
        }

        void signal(String name) throws Exception {
            assertEquals(0, new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor());
        }

        int exit() throws InterruptedException {
            assertTrue(process.waitFor(180, TimeUnit.SECONDS), "spm train did not exit");
            return process.exitValue();
        }

        JsonNode summary() throws Exception {
            String[] lines = stdout.get(10, TimeUnit.SECONDS).strip().split("\n");
            assertEquals(1, lines.length, "stdout holds exactly the JSON summary: " + String.join("\n", lines));
            return JSON.readTree(lines[0]);
        }
    }

    /** {@code model reference} into {@code dir/tiny}, through the jar like everything else here. */
    private static Path tinyModel(Path dir) throws Exception {
        Path model = dir.resolve("tiny");
        Process ref = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dmembrane.data-dir=" + dir, "-jar", JAR, "model", "reference", "--out", model.toString()).start();
        ref.getInputStream().readAllBytes();
        assertEquals(0, ref.waitFor());
        return model;
    }

    @Test
    void killedInterruptedAndResumedRunsLeaveLoadableFilesAndFinish(@TempDir Path dir) throws Exception {
        Path model = tinyModel(dir);
        Path out = dir.resolve("adapters/snoopy.safetensors");
        Path state = TrainingCheckpoint.stateFileFor(out);
        String[] recipe = {"--model", model.toString(), "--concept", "snoopy", "--iterations", "40", "--max-denoising-steps", "6",
                "--lr", "1e-3", "--warmup", "2", "--checkpoint-every", "1", "--out", out.toString()};

        Run killed = Run.start(dir, recipe);
        killed.awaitProgress();
        killed.signal("KILL");
        killed.exit();
        SpmFile afterKill = SpmFile.read(out);
        assertEquals(List.of("snoopy"), afterKill.prompts());
        int killedAt = TrainingCheckpoint.read(state).iteration();
        assertTrue(killedAt >= 1 && killedAt < 40, "checkpoint at " + killedAt);

        List<String> resume = new ArrayList<>(List.of(recipe));
        resume.addAll(List.of("--resume", state.toString()));
        Run interrupted = Run.start(dir, resume.toArray(String[]::new));
        interrupted.awaitProgress();
        interrupted.signal("INT");
        assertEquals(130, interrupted.exit(), "Ctrl-C exits 130 after its checkpoint; stderr: " + interrupted.stderr());
        JsonNode stopped = interrupted.summary();
        assertTrue(stopped.get("interrupted").asBoolean());
        assertEquals(killedAt, stopped.get("startIteration").asInt());
        int stoppedAt = stopped.get("iterations").asInt();
        assertEquals(stoppedAt, TrainingCheckpoint.read(state).iteration());
        assertEquals(stopped.get("sha256").asText(), SpmFile.read(out).sha256());

        Run finished = Run.start(dir, resume.toArray(String[]::new));
        assertEquals(0, finished.exit(), "stderr: " + finished.stderr());
        JsonNode done = finished.summary();
        assertFalse(done.get("interrupted").asBoolean());
        assertEquals(stoppedAt, done.get("startIteration").asInt());
        assertEquals(40, done.get("iterations").asInt());
        assertEquals(done.get("sha256").asText(), SpmFile.read(out).sha256());
        try (var left = Files.list(out.getParent())) {
            assertEquals(List.of(), left.filter(p -> p.toString().endsWith(".tmp")).toList(), "temporary files left behind");
        }
        for (String key : List.of("msPerIteration", "peakRssMb")) assertTrue(done.get(key).asDouble() > 0, key);
        assertTrue(done.at("/heldOut/eraseDistanceUntrained").asDouble() > 0);
        assertTrue(done.at("/lossErase/first50").asDouble() > 0);
        assertTrue(finished.stderr().stream().anyMatch(l -> l.contains("it/s") && l.contains("ETA")), "progress bar on stderr");
    }

    @Test
    void cudaWithoutItsNativesIsOneLineNamingWhatToAdd(@TempDir Path dir) throws Exception {
        Path model = tinyModel(dir);
        Run run = Run.start(dir, "--model", model.toString(), "--concept", "snoopy", "--device", "cuda",
                "--out", dir.resolve("x.safetensors").toString());
        assertEquals(1, run.exit());
        List<String> errors = run.stderr().stream().filter(l -> l.startsWith("membrane: error:")).toList();
        assertEquals(1, errors.size(), "stderr: " + run.stderr());
        assertTrue(errors.get(0).contains("pytorch-native-cu128"), errors.get(0));
        assertFalse(Files.exists(dir.resolve("x.safetensors")));
    }
}
