package dev.membrane.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's environment creation recursed natively with the length of the process's command line and, on
 * the JVM's 1 MB main stack, killed {@code classify} over a few hundred image paths with SIGSEGV. A child JVM with
 * a 30,000-character command line creates the runtime on its main thread.
 */
class OrtRuntimeCommandLineTest {

    /** The child: creates the runtime and says so; its arguments are only there to make the command line long. */
    public static final class Child {
        public static void main(String[] args) {
            OrtRuntime.create(RuntimeConfig.cpuDefaults());
            System.out.println("created with " + args.length + " arguments");
        }
    }

    @Test
    void aLongCommandLineDoesNotCrashEnvironmentCreation() throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xss1m",
                "-cp", System.getProperty("java.class.path"), Child.class.getName()));
        for (int i = 0; i < 300; i++) command.add("/tmp/a_long_directory_name_standing_for_a_folder_of_images/image-" + String.format("%04d", i) + ".png");
        assertTrue(String.join(" ", command).length() > 25_000);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "exit " + p.exitValue() + " (139 is SIGSEGV): " + out);
        assertTrue(out.contains("created with 300 arguments"), out);
    }
}
