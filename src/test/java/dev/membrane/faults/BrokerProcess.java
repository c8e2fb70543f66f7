package dev.membrane.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.membrane.gateway.kafka.EmbeddedKafka;

/**
 * The embedded KRaft broker in a process of its own, so faults can hit the broker and not the test: SIGSTOP and
 * SIGCONT (a broker that stops answering and comes back), SIGKILL and a restart on the same port and log dir.
 */
public final class BrokerProcess implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final Map<String, Integer> topics;
    private Process process;

    /** Entry point of the child: {@code BrokerProcess DIR PORT name=partitions...}; prints "ready" when serving. */
    public static void main(String[] args) throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start(Path.of(args[0]), Integer.parseInt(args[1]));
        for (int i = 2; i < args.length; i++) {
            String[] t = args[i].split("=");
            if (t[0].endsWith(".attempts")) kafka.createCompactedTopic(t[0], Integer.parseInt(t[1]));
            else kafka.createTopics(Map.of(t[0], Integer.parseInt(t[1])));
        }
        System.out.println("ready");
        System.out.flush();
        Thread.currentThread().join();
    }

    private BrokerProcess(Path dir, int port, Map<String, Integer> topics) {
        this.dir = dir;
        this.port = port;
        this.topics = topics;
    }

    public static BrokerProcess start(Path dir, int port, Map<String, Integer> topics) throws Exception {
        BrokerProcess b = new BrokerProcess(dir, port, topics);
        b.launch();
        return b;
    }

    private void launch() throws Exception {
        Files.createDirectories(dir);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                BrokerProcess.class.getName(), dir.resolve("data").toString(), Integer.toString(port)));
        topics.forEach((t, p) -> cmd.add(t + "=" + p));
        Path log = dir.resolve("broker-" + System.nanoTime() + ".log");
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.currentTimeMillis() + 90_000;
        while (!Files.readString(log).contains("ready")) {
            if (!process.isAlive() || System.currentTimeMillis() > deadline) throw new IOException("broker did not start: " + Files.readString(log));
            Thread.sleep(200);
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** SIGSTOP: the broker keeps its sockets and answers nothing. */
    public void freeze() throws Exception {
        signal("STOP");
    }

    /** SIGCONT. */
    public void thaw() throws Exception {
        signal("CONT");
    }

    /** SIGKILL, then a new broker process on the same port and data. */
    public void killAndRestart() throws Exception {
        killAndRestartAfter(0);
    }

    /** SIGKILL, {@code downMs} with no broker, then a new broker process on the same port and data. */
    public void killAndRestartAfter(long downMs) throws Exception {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        Thread.sleep(downMs);
        launch();
    }

    private void signal(String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (kill.waitFor() != 0) throw new IOException("kill -" + name + " failed");
    }

    @Override
    public void close() throws Exception {
        signal("CONT");
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
}
