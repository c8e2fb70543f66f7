package dev.membrane.gateway.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.logging.Logger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;

import dev.membrane.MembraneException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

/**
 * A single-node KRaft Kafka broker (broker and controller in one) in this process, for the embedded default and
 * the integration tests. Every listener binds 127.0.0.1. The log directory survives restarts: it is formatted
 * once, then reused, so topics and committed offsets persist like a real broker's.
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EmbeddedKafka.class.getName());
    private final KafkaRaftServer server;
    private final int port;

    private EmbeddedKafka(KafkaRaftServer server, int port) {
        this.server = server;
        this.port = port;
    }

    /** Starts a broker on 127.0.0.1:{@code port} (0 picks a free port) with its log in {@code dir}. */
    public static EmbeddedKafka start(Path dir, int port) {
        int brokerPort = port == 0 ? freePort() : port;
        // the kernel may hand the just-closed probe port out again; KafkaConfig refuses two listeners on one port
        int controllerPort = freePort();
        for (int tries = 0; controllerPort == brokerPort && tries < 10; tries++) controllerPort = freePort();
        if (controllerPort == brokerPort) throw new MembraneException("no second free port on 127.0.0.1 beside " + brokerPort);
        Path logDir = dir.resolve("log");
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("log.dirs", logDir.toAbsolutePath().toString());
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "4");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "4");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("auto.create.topics.enable", "false");
        props.put("num.partitions", "1");
        props.put("log.segment.bytes", String.valueOf(64 << 20));
        props.put("message.max.bytes", String.valueOf(16 << 20));
        try {
            Files.createDirectories(logDir);
            Path config = dir.resolve("server.properties");
            try (var w = Files.newBufferedWriter(config)) {
                props.store(w, "Membrane embedded KRaft broker");
            }
            if (!Files.exists(logDir.resolve("meta.properties"))) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                int rc = StorageTool.execute(new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", config.toString(),
                        "--ignore-formatted"}, new PrintStream(out, true, StandardCharsets.UTF_8));
                if (rc != 0) throw new MembraneException(logDir + ": formatting Kafka storage failed: " + out.toString(StandardCharsets.UTF_8).strip());
            }
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props), Time.SYSTEM);
            server.startup();
            LOG.info("embedded Kafka broker listening on 127.0.0.1:" + brokerPort + " (log in " + logDir + ")");
            return new EmbeddedKafka(server, brokerPort);
        } catch (IOException e) {
            throw new MembraneException(dir + ": cannot prepare the embedded Kafka broker (" + e.getMessage() + ")");
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new MembraneException("no free port on 127.0.0.1 (" + e.getMessage() + ")");
        }
    }

    public int port() {
        return port;
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** Creates each topic (name → partitions) that does not exist yet, replication 1. */
    public void createTopics(Map<String, Integer> topics) {
        createTopics(bootstrapServers(), topics, (short) 1);
    }

    /** Creates the crash-loop breaker's compacted attempts topic if it does not exist. */
    public void createCompactedTopic(String name, int partitions) {
        createTopics(bootstrapServers(), Map.of(name, partitions), (short) 1, Map.of("cleanup.policy", "compact"));
    }

    /** Creates missing topics on any cluster. */
    public static void createTopics(String bootstrap, Map<String, Integer> topics, short replication) {
        createTopics(bootstrap, topics, replication, Map.of());
    }

    /** Creates missing topics on any cluster, each with these topic configs. */
    public static void createTopics(String bootstrap, Map<String, Integer> topics, short replication, Map<String, String> configs) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            List<NewTopic> missing = new ArrayList<>();
            var existing = admin.listTopics().names().get();
            topics.forEach((name, partitions) -> {
                if (!existing.contains(name)) missing.add(new NewTopic(name, partitions, replication).configs(configs));
            });
            if (missing.isEmpty()) return;
            try {
                admin.createTopics(missing).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MembraneException("interrupted while creating topics");
        } catch (ExecutionException e) {
            throw new MembraneException(bootstrap + ": cannot create topics " + topics.keySet() + " (" + e.getCause().getMessage() + ")");
        }
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }
}
