package dev.membrane.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

import dev.membrane.bench.MatMulPeak;
import dev.membrane.onnx.ModelSession;
import dev.membrane.onnx.OrtCallGate;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.onnx.Tensors;

/**
 * SIGTERM to a one-shot command busy in ONNX Runtime: the JVM's shutdown hooks used to free ONNX Runtime's
 * environment under the running call and the process died of SIGSEGV (exit 134, an hs_err file). A child JVM runs
 * large MatMuls back to back, as {@code generate} runs UNet steps, and is sent SIGTERM mid-loop.
 */
class ExitOnSignalTest {
    private static final int SIDE = 768;

    /** The child: installs the commands' signal handling (unless told not to), then runs MatMuls until killed. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            if (!(args.length > 0 && args[0].equals("unguarded"))) ShutdownSignals.exitAfterNativeCalls();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("hooks run with the gate closed: " + OrtCallGate.closed())));
            OrtRuntime runtime = OrtRuntime.create(RuntimeConfig.cpuDefaults());
            Path file = Files.createTempFile("membrane-signal-", ".onnx");
            MatMulPeak.writeModel(file, SIDE);
            float[] a = new float[SIDE * SIDE];
            java.util.Arrays.fill(a, 0.5f);
            try (ModelSession s = runtime.open(file, "matmul");
                 OnnxTensor x = Tensors.floating(s.environment(), a, new long[] {SIDE, SIDE}, ai.onnxruntime.OnnxJavaType.FLOAT)) {
                Files.delete(file);
                for (long run = 0; ; run++) {
                    try (OrtSession.Result out = s.run(Map.of("a", x, "b", x))) {
                        if (run == 3) {
                            System.out.println("running");
                            System.out.flush();
                        }
                    }
                }
            }
        }
    }

    record Outcome(int status, String output) {
    }

    private static Outcome terminateMidLoop(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:ErrorFile=/dev/null", "-cp", System.getProperty("java.class.path"), Child.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        StringBuilder output = new StringBuilder();
        CompletableFuture<Void> running = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                    if (line.equals("running")) running.complete(null);
                }
            } catch (java.io.IOException e) {
                running.completeExceptionally(e);
            }
            running.complete(null);
        });
        reader.start();
        running.get(120, TimeUnit.SECONDS);
        Thread.sleep(300);
        p.toHandle().destroy(); // SIGTERM (Process.destroy would also close the pipe we read)
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child did not exit on SIGTERM");
        reader.join(10_000);
        synchronized (output) {
            return new Outcome(p.exitValue(), output.toString());
        }
    }

    @Test
    void sigtermExitsWith143OnceTheRunningCallReturns() throws Exception {
        Outcome o = terminateMidLoop();
        assertEquals(143, o.status(), "exit " + o.status() + " (134: crashed in ONNX Runtime): " + o.output());
        assertFalse(o.output().contains("fatal error"), o.output());
        assertTrue(o.output().contains("hooks run with the gate closed: true"), o.output());
    }

    /**
     * The reference: without the handling the same child dies in ONNX Runtime under its own shutdown hook. (A
     * SIGTERM that lands between two calls exits cleanly, so a few tries are allowed; it crashed 7 times in 7 here.)
     */
    @Test
    void withoutItTheSameChildCrashesInOnnxRuntime() throws Exception {
        List<Outcome> tries = new ArrayList<>();
        for (int i = 0; i < 3 && (tries.isEmpty() || tries.get(tries.size() - 1).status() != 134); i++) tries.add(terminateMidLoop("unguarded"));
        Outcome last = tries.get(tries.size() - 1);
        assertEquals(134, last.status(), "no crash in " + tries.size() + " tries: " + tries);
        assertTrue(last.output().contains("A fatal error has been detected") && last.output().contains("libonnxruntime"), last.output());
    }
}
