package dev.membrane.cli;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import jakarta.enterprise.context.Dependent;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import dev.membrane.MembraneException;
import dev.membrane.evaluation.classifier.ConceptOutputClassifier;
import dev.membrane.safety.ClassifierCard;
import dev.membrane.safety.ImageClassifier;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.edge.GatewayState;
import dev.membrane.edge.ClosedAtShutdown;
import dev.membrane.edge.ShutdownSignals;
import dev.membrane.edge.policy.PolicyTopicConsumer;
import dev.membrane.gateway.BudgetedCapacity;
import dev.membrane.gateway.GatewayMetrics;
import dev.membrane.gateway.admission.Admission;
import dev.membrane.gateway.kafka.KafkaClients;
import dev.membrane.gateway.kafka.MeteredKafkaClients;
import dev.membrane.serving.memory.MachineMemory;
import dev.membrane.serving.memory.MemoryModel;
import dev.membrane.gateway.GatewaySettings;
import dev.membrane.gateway.KafkaGateway;
import dev.membrane.gateway.ServedModel;
import dev.membrane.gateway.kafka.EmbeddedKafka;
import dev.membrane.gateway.kafka.TopicPresence;
import dev.membrane.gateway.playground.KafkaAuditSink;
import dev.membrane.gateway.playground.Playground;
import dev.membrane.gateway.message.OutputRecords;
import dev.membrane.gateway.message.RequestLimits;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.policy.DemoPolicy;
import dev.membrane.policy.PolicyStore;
import dev.membrane.spm.catalog.AdapterCatalog;
import picocli.CommandLine.Command;

/**
 * {@code serve} (also what {@code membrane} with no command runs): the streaming gateway. With no
 * {@code membrane.kafka.bootstrap-servers}, it starts the embedded broker on 127.0.0.1, creates the topics, builds
 * the tiny reference model under {@code membrane.data-dir} if absent, loads the adapter catalog and (with no
 * policy file) a demo policy. Runs until SIGTERM/SIGINT, then drains in-flight work before the last commit.
 */
@Dependent
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the streaming moderation gateway (the default).")
public class ServeCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(ServeCommand.class.getName());

    @Inject
    MembraneConfig config;

    @Inject
    MeterRegistry registry;

    @Inject
    GatewayState state;

    @Inject
    PolicyTopicConsumer policyTopic;

    @Inject
    ClosedAtShutdown closedAtShutdown;

    @ConfigProperty(name = "quarkus.http.host", defaultValue = "127.0.0.1")
    String httpHost;

    @ConfigProperty(name = "quarkus.http.port", defaultValue = "8080")
    int httpPort;

    @Override
    public Integer call() throws Exception {
        ShutdownSignals.install(() -> Quarkus.asyncExit(0));
        Path data = config.dataDir();
        Files.createDirectories(data);
        OrtRuntime runtime = OrtRuntime.create(config.runtimeConfig());

        ModelEntries entries = ModelEntries.parse(config.models());
        Map<String, String> modelDirs = new LinkedHashMap<>(entries.folders());
        EmbeddedModel embeddedModel = null;
        if (modelDirs.isEmpty()) {
            embeddedModel = EmbeddedModel.resolve(config);
            modelDirs.put(embeddedModel.id(), embeddedModel.folder().toString());
        }
        String defaultModel = config.defaultModel().orElse(modelDirs.keySet().iterator().next());
        if (!modelDirs.containsKey(defaultModel)) throw new MembraneException("membrane.default-model '" + defaultModel + "' is not in membrane.models");

        AdapterCatalog catalog = AdapterCatalog.load(config.adapters().catalog(), config.adapters().dir().orElse(null));
        Path policyFile = config.policy().file().orElse(data.resolve("policy.yaml"));
        if (config.policy().file().isEmpty() && !Files.exists(policyFile)) {
            Files.writeString(policyFile, embeddedModel != null && embeddedModel.isShapes() ? DemoPolicy.shapesYaml(catalog) : DemoPolicy.yaml(catalog));
        }
        Map<String, Path> classifierDirs = new LinkedHashMap<>(entries.classifiers());
        List<String> classifierFailures = new ArrayList<>();
        if (embeddedModel != null && embeddedModel.isShapes() && !classifierDirs.containsKey(embeddedModel.id())) {
            // the embedded default checks its outputs with its own concept classifier (the demo policy blocks by it)
            try {
                classifierDirs.put(embeddedModel.id(), ConceptOutputClassifier.ensure(embeddedModel.folder().resolve("classifier.onnx"),
                        data.resolve("classifiers").resolve(ConceptOutputClassifier.ID)));
            } catch (MembraneException e) {
                LOG.severe("the embedded default serves without its output classifier: " + e.getMessage());
                classifierFailures.add(ConceptOutputClassifier.ID + ": " + e.getMessage());
            }
        }
        for (String id : classifierDirs.keySet()) {
            if (!modelDirs.containsKey(id)) throw new MembraneException("membrane.models." + id + ".classifier names no served model (served: " + modelDirs.keySet() + ")");
        }
        Map<String, ServedModel> models = new LinkedHashMap<>();
        for (var e : modelDirs.entrySet()) {
            Path classifierDir = classifierDirs.get(e.getKey());
            LOG.info("loading model '" + e.getKey() + "' from " + e.getValue() + (classifierDir == null ? "" : " with output classifier " + classifierDir));
            ImageClassifier classifier = null;
            if (classifierDir != null) {
                try {
                    classifier = ImageClassifier.open(runtime, classifierDir);
                } catch (MembraneException e2) {
                    // like a missing adapter: the policies that need it are refused, the others serve
                    LOG.severe("model '" + e.getKey() + "' serves without its output classifier: " + e2.getMessage());
                    classifierFailures.add("membrane.models." + e.getKey() + ".classifier " + classifierDir + ": " + e2.getMessage());
                }
            }
            models.put(e.getKey(), ServedModel.open(e.getKey(), Path.of(e.getValue()), classifier, runtime, config.gateway().slots()));
        }
        PolicyStore policies = PolicyStore.open(policyFile, catalog, classifierCards(models), classifierFailures);

        EmbeddedKafka embedded = null;
        String bootstrap = KafkaBootstrap.configured(config).orElse(null);
        var topics = config.topics();
        Optional<String> policyTopicName = config.policy().topic().map(String::strip).filter(t -> !t.isEmpty());
        // the same resolution SmallRye's channel got at start: refuses an embedded port of 0 with the topic on
        if (policyTopicName.isPresent()) PolicyChannelClient.bootstrap(config);
        if (bootstrap == null) {
            embedded = EmbeddedKafka.start(data.resolve("kafka"), config.kafka().embeddedPort());
            // closed at shutdown, after SmallRye's policy consumer has left, on every path out of here
            closedAtShutdown.hold(embedded);
            bootstrap = embedded.bootstrapServers();
            embedded.createTopics(Map.of(topics.requests(), topics.partitions(), topics.results(), topics.partitions(),
                    topics.audit(), topics.partitions(), topics.deadLetters(), 1));
            embedded.createCompactedTopic(topics.attempts(), topics.partitions());
            // one partition: the newest document is the last in the log, for every instance alike
            if (policyTopicName.isPresent()) embedded.createCompactedTopic(policyTopicName.get(), 1);
        }
        GatewaySettings settings = GatewayComposition.settings(config, bootstrap, limits(modelDirs, defaultModel), kafkaClientProperties(config));
        Map<String, Admission.ModelCapacity> capacities = capacities(models, settings);
        KafkaClients clients = new MeteredKafkaClients(KafkaClients.real(), registry);
        KafkaGateway gateway = new KafkaGateway(settings, models, capacities, policies, new GatewayMetrics(registry), clients);
        gateway.start();
        String token = adminToken();
        // the playground's audit producer exists only with the admin API on
        KafkaAuditSink playgroundAudit = token == null ? null : new KafkaAuditSink(clients.auditProducer(gateway.auditProducerConfig()), 10_000);
        Playground playground = token == null ? null : new Playground(models, policies, settings.limits(), capacities, gateway.records(),
                playgroundAudit, config.admin().compareConcurrency());
        state.serving(gateway, policies, new GatewayState.Admin(token, config.admin().maxBodyBytes(), Map.copyOf(models),
                settings.limits(), catalog, playground));
        if (policyTopicName.isPresent()) {
            // subscribing to a missing topic would only log warnings forever (auto-creation is off: it must be compacted)
            TopicPresence presence = TopicPresence.of(gateway.clientConfig(), policyTopicName.get(), 10_000);
            if (presence == TopicPresence.ABSENT) {
                LOG.severe("policy topic " + policyTopicName.get() + " does not exist: serving " + policyFile + " alone. Create it compacted with one "
                        + "partition (kafka/create-topics.sh, kafka/strimzi/topics.yaml) and restart, or set membrane.policy.topic= to say so");
                policyTopicName = Optional.empty();
            } else {
                policyTopic.resume();
                LOG.info("policy topic " + policyTopicName.get() + " on: its newest valid document wins over " + policyFile
                        + (presence == TopicPresence.UNKNOWN ? " (the cluster did not answer yet)" : ""));
            }
        }
        ScheduledExecutorService reload = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "membrane-policy-reload");
            t.setDaemon(true);
            return t;
        });
        reload.scheduleWithFixedDelay(policies::reloadIfChanged, config.policy().reloadIntervalMs(),
                config.policy().reloadIntervalMs(), TimeUnit.MILLISECONDS);
        System.err.println("membrane: serving; kafka " + bootstrap + (embedded != null ? " (embedded)" : "") + ", http "
                + httpHost + ":" + httpPort + ", topics " + topics.requests() + " -> " + topics.results() + ", " + topics.audit()
                + ", " + topics.deadLetters() + "; models " + models.keySet() + "; policy " + policyFile
                + policyTopicName.map(t -> " and topic " + t).orElse(""));
        Quarkus.waitForExit();
        LOG.info("stopping: draining in-flight requests");
        reload.shutdownNow();
        // the admin API must not run a model's session while it closes: turn it off, let previews finish
        if (!state.stopAdmin(10_000)) LOG.warning("an admin API call was still running after 10 s");
        if (playgroundAudit != null) playgroundAudit.close();
        gateway.close();
        if (!gateway.workersStopped()) {
            // closing sessions under a running worker is the crash this shutdown exists to avoid
            LOG.severe("a worker is still inside ONNX Runtime after the drain; exiting without closing sessions");
            Runtime.getRuntime().halt(1);
        }
        models.values().forEach(ServedModel::close);
        LOG.info("stopped: every session closed");
        return 0;
    }

    /** The admin API's token: {@code membrane.admin.token}, else the token file's content, else null (the API is off). */
    private String adminToken() throws java.io.IOException {
        var a = config.admin();
        if (a.token().isPresent() && !a.token().get().isBlank()) return a.token().get().strip();
        if (a.tokenFile().isPresent()) {
            if (!Files.exists(a.tokenFile().get())) {
                // an optional Secret that is not there: the API stays off, which is the safe side
                LOG.warning("membrane.admin.token-file " + a.tokenFile().get() + " does not exist: the admin API is off");
                return null;
            }
            String t = Files.readString(a.tokenFile().get()).strip();
            if (t.isEmpty()) throw new MembraneException(a.tokenFile().get() + ": membrane.admin.token-file is empty");
            return t;
        }
        return null;
    }

    /** The loaded output classifiers by id; one id naming two different graphs is refused. */
    static Map<String, ClassifierCard> classifierCards(Map<String, ServedModel> models) {
        Map<String, ClassifierCard> cards = new LinkedHashMap<>();
        for (ServedModel m : models.values()) {
            if (m.classifier() == null) continue;
            ClassifierCard card = m.classifier().card();
            ClassifierCard other = cards.putIfAbsent(card.id(), card);
            if (other != null && !other.modelSha256().equals(card.modelSha256())) {
                throw new MembraneException("two classifiers named '" + card.id() + "' with different graphs (" + other.modelSha256() + ", "
                        + card.modelSha256() + "): give one another id in its classifier.json");
            }
        }
        return cards;
    }

    /**
     * Each model's capacity under the memory budget, split evenly between the workers (their batches run at the
     * same time).
     */
    private Map<String, Admission.ModelCapacity> capacities(Map<String, ServedModel> models, GatewaySettings settings) {
        Map<String, MemoryModel> memory = new LinkedHashMap<>();
        long weights = 0;
        for (String id : models.keySet()) {
            MemoryModel m = MemoryModel.of(models.get(id).pipeline().pipeline().folder());
            memory.put(id, m);
            weights += m.weightBytes();
        }
        long totalWeights = weights;
        long budgetMb = config.gateway().memoryBudgetMb().orElseGet(() -> MemoryModel.defaultBudgetMb(MachineMemory.detect(), totalWeights));
        long perBatch = (budgetMb << 20) / settings.workers();
        Map<String, Admission.ModelCapacity> out = new LinkedHashMap<>();
        memory.forEach((id, m) -> {
            out.put(id, new BudgetedCapacity(models.get(id).slots(), m, perBatch, settings.maxBatchImages()));
            var largest = m.fit(settings.limits().maxSide(), settings.limits().maxSide(), 1, true, perBatch);
            LOG.info("memory budget " + budgetMb + " MB (" + (perBatch >> 20) + " MB per batch); model '" + id + "': one guided "
                    + settings.limits().maxSide() + "px image needs an estimated " + (largest.peakBytes() >> 20) + " MB"
                    + (largest.fits() ? "" : ": such requests are refused OVER_BUDGET"));
        });
        if (budgetMb <= 0) LOG.severe("the memory budget is " + budgetMb + " MB: every request will be refused OVER_BUDGET");
        return out;
    }

    /** The properties file's entries, then {@code membrane.kafka.client.*} on top. */
    /** The properties file's entries, then {@code membrane.kafka.client.*} on top: the gateway's and the policy channel's. */
    static Map<String, String> kafkaClientProperties(MembraneConfig config) throws java.io.IOException {
        Map<String, String> props = new LinkedHashMap<>();
        if (config.kafka().clientPropertiesFile().isPresent()) {
            java.util.Properties p = new java.util.Properties();
            try (var in = Files.newInputStream(config.kafka().clientPropertiesFile().get())) {
                p.load(in);
            }
            p.forEach((k, v) -> props.put(k.toString(), v.toString()));
        }
        props.putAll(config.kafka().client());
        return props;
    }

    private RequestLimits limits(Map<String, String> modelDirs, String defaultModel) {
        ModelFolder folder = ModelFolder.open(Path.of(modelDirs.get(defaultModel)));
        var l = config.limits();
        int side = l.defaultSide().orElseGet(() -> GenerateCommand.defaultSize(folder));
        String scheduler = l.defaultScheduler().orElseGet(() -> SchedulerKind.ofConfig(SchedulerConfig.load(folder.schedulerConfig())).id());
        return new RequestLimits(l.maxPromptChars(), l.maxSide(), l.maxPixels(), l.maxSteps(), l.maxImages(), side,
                l.defaultSteps(), l.defaultGuidance(), l.maxGuidance(), scheduler, defaultModel, modelDirs.keySet());
    }
}
