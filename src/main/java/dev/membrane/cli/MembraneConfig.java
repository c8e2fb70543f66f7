package dev.membrane.cli;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import dev.membrane.onnx.DeviceChoice;
import dev.membrane.onnx.RuntimeConfig;

/** The {@code membrane.*} configuration keys (application.properties, env MEMBRANE_*, -D). */
@ConfigMapping(prefix = "membrane")
public interface MembraneConfig {

    /** auto, cpu or cuda. */
    @WithDefault("auto")
    String device();

    /** CUDA device ordinal. */
    @WithName("device-id")
    @WithDefault("0")
    int deviceId();

    /** Where the demo builds its reference model and writes its images. */
    @WithName("data-dir")
    @WithDefault("membrane-data")
    Path dataDir();

    Onnx onnx();

    Kafka kafka();

    Topics topics();

    Gateway gateway();

    Limits limits();

    /**
     * Served models: id → model folder. Empty: the embedded default, the committed shapes model
     * ({@link #embeddedModel}, id {@code shapes}) where it is present, else the tiny reference model built under
     * data-dir (id {@code tiny}).
     */
    Map<String, String> models();

    /** The embedded default's model folder (the shapes model committed with the project). */
    @WithName("embedded-model")
    @WithDefault("models/shapes")
    Path embeddedModel();

    /** The model requests get when they name none. */
    @WithName("default-model")
    Optional<String> defaultModel();

    Adapters adapters();

    PolicyConfig policy();

    interface Kafka {
        /** External Kafka; absent: the embedded single-node broker. */
        @WithName("bootstrap-servers")
        Optional<String> bootstrapServers();

        @WithName("embedded.port")
        @WithDefault("9092")
        int embeddedPort();

        /** Extra client properties for consumer and producer (security.protocol, sasl.*, ssl.*). */
        Map<String, String> client();

        /** A properties file of further client properties (a mounted Secret with SASL or mTLS settings). */
        @WithName("client-properties-file")
        Optional<Path> clientPropertiesFile();
    }

    interface Topics {
        @WithDefault("membrane.requests")
        String requests();

        @WithDefault("membrane.results")
        String results();

        @WithDefault("membrane.audit")
        String audit();

        @WithName("dead-letters")
        @WithDefault("membrane.requests.dlq")
        String deadLetters();

        /** The crash-loop breaker's compacted topic. */
        @WithDefault("membrane.gateway.attempts")
        String attempts();

        /** Partitions of each topic the embedded broker creates. */
        @WithDefault("4")
        int partitions();
    }

    /**
     * The gateway's settings. Each is optional here: an unset key takes its default from
     * {@code GatewaySettings.Builder}, the one place they are written down ({@link GatewayComposition} maps them).
     */
    interface Gateway {
        @WithName("group-id")
        Optional<String> groupId();

        /** Stable per instance (the pod name): the transactional id's suffix and the static group member id. */
        @WithName("instance-id")
        @WithDefault("${HOSTNAME:membrane-local}")
        String instanceId();

        Optional<Integer> workers();

        @WithName("max-batch-images")
        Optional<Integer> maxBatchImages();

        @WithName("max-batch-wait-ms")
        Optional<Long> maxBatchWaitMs();

        @WithName("max-in-flight")
        Optional<Integer> maxInFlight();

        @WithName("drain-timeout-ms")
        Optional<Long> drainTimeoutMs();

        @WithName("session-timeout-ms")
        Optional<Integer> sessionTimeoutMs();

        @WithName("transaction-timeout-ms")
        Optional<Integer> transactionTimeoutMs();

        @WithName("duplicate-window-size")
        Optional<Integer> duplicateWindowSize();

        @WithName("duplicate-window-ms")
        Optional<Long> duplicateWindowMs();

        @WithName("loop-stall-ms")
        Optional<Long> loopStallMs();

        @WithName("publish-max-attempts")
        Optional<Integer> publishMaxAttempts();

        @WithName("broker-probe-interval-ms")
        Optional<Long> brokerProbeIntervalMs();

        @WithName("broker-unreachable-after-ms")
        Optional<Long> brokerUnreachableAfterMs();

        @WithName("poison-after")
        Optional<Integer> poisonAfter();

        /**
         * Memory all concurrent batches may use beyond the loaded weights; unset: from the machine (its cgroup
         * limit or RAM, less the JVM's heap, the weights and a margin).
         */
        @WithName("memory-budget-mb")
        Optional<Long> memoryBudgetMb();

        /** continuous or static. */
        Optional<String> batching();

        /** Rank-1 adapter slots per sample in the prepared UNets. */
        @WithDefault("8")
        int slots();
    }

    interface Limits {
        @WithName("max-prompt-chars")
        @WithDefault("2000")
        int maxPromptChars();

        @WithName("max-side")
        @WithDefault("1024")
        int maxSide();

        @WithName("max-pixels")
        @WithDefault("1048576")
        long maxPixels();

        @WithName("max-steps")
        @WithDefault("100")
        int maxSteps();

        @WithName("max-images")
        @WithDefault("4")
        int maxImages();

        /** Width and height when a request has none; absent: 512, or a reference model's own size. */
        @WithName("default-side")
        Optional<Integer> defaultSide();

        @WithName("default-steps")
        @WithDefault("25")
        int defaultSteps();

        @WithName("default-guidance")
        @WithDefault("7.5")
        double defaultGuidance();

        @WithName("max-guidance")
        @WithDefault("30")
        double maxGuidance();

        /** Absent: the default model's scheduler_config.json. */
        @WithName("default-scheduler")
        Optional<String> defaultScheduler();
    }

    interface Adapters {
        @WithDefault("adapters/catalog.json")
        Path catalog();

        /** Where the catalog's files are; absent: beside the catalog. */
        Optional<Path> dir();
    }

    Admin admin();

    interface Admin {
        /** The admin API's bearer token; unset, with no token-file: the API answers 404. */
        Optional<String> token();

        /** A file holding the token (a mounted Secret); its surrounding whitespace is ignored. */
        @WithName("token-file")
        Optional<Path> tokenFile();

        /** Largest request body the admin API reads. */
        @WithName("max-body-bytes")
        @WithDefault("65536")
        int maxBodyBytes();

        /**
         * {@code POST /api/compare} calls running at once; one more is answered 429, so the playground cannot take
         * the workers' cores from the Kafka path.
         */
        @WithName("compare-concurrency")
        @WithDefault("1")
        int compareConcurrency();
    }

    interface PolicyConfig {
        /** The policy YAML; absent: a demo policy (every tenant gets every catalog adapter) under data-dir. */
        Optional<Path> file();

        @WithName("reload-interval-ms")
        @WithDefault("2000")
        long reloadIntervalMs();

        /**
         * The compacted topic of policy documents (key: document id, value: YAML), consumed by every instance
         * through SmallRye's {@code membrane-policies} channel; empty turns it off. Its newest valid document wins
         * over the file.
         */
        @WithDefault("membrane.policies")
        Optional<String> topic();
    }

    interface Onnx {
        /** Intra-op threads of the shared pool; 0 = one per core. */
        @WithName("intra-op-threads")
        @WithDefault("0")
        int intraOpThreads();

        /** none, basic, extended or all. */
        @WithDefault("all")
        String optimization();

        @WithName("memory-arena")
        @WithDefault("true")
        boolean memoryArena();

        /** Whether pool threads spin while idle. */
        @WithDefault("false")
        boolean spinning();
    }

    default RuntimeConfig runtimeConfig() {
        return new RuntimeConfig(DeviceChoice.parse(device()), deviceId(), onnx().intraOpThreads(), onnx().optimization(),
                onnx().memoryArena(), onnx().spinning());
    }
}
