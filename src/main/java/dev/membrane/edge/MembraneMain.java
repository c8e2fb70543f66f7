package dev.membrane.edge;

import io.quarkus.picocli.runtime.PicocliRunner;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * Entry point. Quarkus starts every extension before a command runs, so for every command but {@code serve}
 * (also what no command means) the HTTP server is switched off here: a {@code tokenize} must not bind a port.
 * Kafka clients and the embedded broker are started by {@code serve} itself, never by the others. The others
 * exit on SIGTERM and Ctrl-C only once no ONNX Runtime call is running ({@link ShutdownSignals}).
 */
@QuarkusMain
public class MembraneMain {
    public static void main(String... args) {
        if (!serves(args)) {
            System.setProperty("quarkus.http.host-enabled", "false");
            ShutdownSignals.exitAfterNativeCalls();
        }
        Quarkus.run(PicocliRunner.class, args);
    }

    static boolean serves(String... args) {
        for (String a : args) {
            if (a.startsWith("-")) {
                if (a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version")) return false;
                continue;
            }
            return a.equals("serve");
        }
        return true;
    }
}
