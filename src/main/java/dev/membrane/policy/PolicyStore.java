package dev.membrane.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

import dev.membrane.MembraneException;
import dev.membrane.safety.ClassifierCard;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.spm.catalog.CatalogEntry;

/**
 * The policy in force, from a file, reloaded when the file changes, and from documents delivered over the policy
 * topic ({@link #applyDocument}). A document that does not parse or check keeps the last good one in force (and the
 * reason is logged and kept). On every (re)load each policy's adapters are loaded and checked against their SHA-256
 * pins; a policy with an adapter that cannot be loaded or verified is refused, whole: its requests get a refusal,
 * never an unmoderated image.
 *
 * <p>Once a topic document is in force the file is no longer read: the topic is the fleet-wide, ordered source
 * every instance applies the same way, and one pod's file must not make it disagree with the others. The file is
 * what an instance serves until the topic delivers (it must not start unmoderated while the broker is away).
 * Thread-safe.
 */
public final class PolicyStore {
    private static final Logger LOG = Logger.getLogger(PolicyStore.class.getName());

    private final Path file;
    private final AdapterCatalog catalog;
    private final Map<String, ClassifierCard> classifiers;
    private final List<String> classifierFailures;
    private volatile Loaded current;
    private volatile String lastError;
    private volatile String source;
    private boolean fromTopic;
    private FileTime loadedTime;
    private long loadedSize = -1;

    /** A document with each policy's decision precomputed. */
    private record Loaded(PolicyDocument document, Map<String, PolicyDecision> decisions) {
    }

    private PolicyStore(Path file, AdapterCatalog catalog, Map<String, ClassifierCard> classifiers, List<String> classifierFailures) {
        this.file = file;
        this.catalog = catalog;
        this.classifiers = Map.copyOf(classifiers);
        this.classifierFailures = List.copyOf(classifierFailures);
    }

    /** Loads the file, with no output classifiers loaded (a policy with an output check is refused). */
    public static PolicyStore open(Path file, AdapterCatalog catalog) {
        return open(file, catalog, Map.of());
    }

    /**
     * Loads the file; fails if the first load fails (there is no last good document yet).
     *
     * @param classifiers the output classifiers the served models load, by id: a policy's output check must name
     *                    one of them, match its pin and use only its labels, or the policy is refused
     */
    public static PolicyStore open(Path file, AdapterCatalog catalog, Map<String, ClassifierCard> classifiers) {
        return open(file, catalog, classifiers, List.of());
    }

    /** @param classifierFailures configured classifiers that failed to load, each with its reason (named in refusals) */
    public static PolicyStore open(Path file, AdapterCatalog catalog, Map<String, ClassifierCard> classifiers, List<String> classifierFailures) {
        PolicyStore s = new PolicyStore(file, catalog, classifiers, classifierFailures);
        if (!s.reloadIfChanged()) throw new MembraneException(s.lastError);
        return s;
    }

    /**
     * Reloads when the file's time or size changed; returns whether a good document is in force. Does nothing once a
     * topic document is in force (see the class comment).
     */
    public synchronized boolean reloadIfChanged() {
        if (fromTopic) return true;
        try {
            FileTime time = Files.getLastModifiedTime(file);
            long size = Files.size(file);
            if (current != null && time.equals(loadedTime) && size == loadedSize) return true;
            byte[] bytes = Files.readAllBytes(file);
            install(PolicyDocument.parse(file.toString(), bytes, catalog), "file " + file);
            loadedTime = time;
            loadedSize = size;
            return true;
        } catch (IOException | MembraneException e) {
            lastError = file + ": " + (e instanceof MembraneException ? e.getMessage() : "cannot read (" + e.getMessage() + ")");
            if (current != null) LOG.warning("keeping policy version " + current.document().version() + " in force: " + lastError);
            return current != null;
        }
    }

    /** What became of a document from the policy topic. */
    public sealed interface TopicResult {
        /** It is in force. */
        record Applied(String version, String sha256) implements TopicResult {
        }

        /** It failed to parse or check; the last good document stays in force. */
        record Invalid(String reason) implements TopicResult {
        }
    }

    /**
     * Applies a document delivered over the policy topic, through the same parsing, pins and fail-closed rules as
     * the file. From the first one in force on, the file is no longer read.
     *
     * @param origin where it came from, for the source and logs ({@code topic[key]@partition:offset})
     * @param bytes  the YAML; null (a tombstone) is invalid: removing the policy would leave nothing in force
     */
    public synchronized TopicResult applyDocument(String origin, byte[] bytes) {
        try {
            if (bytes == null) throw new MembraneException("a tombstone (null value) cannot remove the policy in force; produce a new document instead");
            install(PolicyDocument.parse(origin, bytes, catalog), origin);
            if (!fromTopic) LOG.info("policy from the topic is in force: " + file + " is no longer read");
            fromTopic = true;
            return new TopicResult.Applied(current.document().version(), current.document().sha256());
        } catch (MembraneException e) {
            // the message names the origin already (parse errors start with it)
            lastError = e.getMessage().startsWith(origin) ? e.getMessage() : origin + ": " + e.getMessage();
            LOG.warning("ignoring a policy document, keeping version " + current.document().version() + " in force: " + lastError);
            return new TopicResult.Invalid(e.getMessage());
        }
    }

    private void install(PolicyDocument doc, String from) {
        Map<String, PolicyDecision> decisions = new LinkedHashMap<>();
        for (Policy p : doc.policies().values()) decisions.put(p.id(), resolve(p));
        current = new Loaded(doc, decisions);
        source = from;
        lastError = null;
        LOG.info("policy " + from + " version " + doc.version() + " (sha256 " + doc.sha256().substring(0, 12) + ") in force: "
                + decisions.values().stream().map(d -> d.policy().id() + (d.refused() ? " REFUSED (" + d.refusal() + ")" : "")).toList());
    }

    /** Where the document in force came from: {@code file PATH} or {@code topic[key]@partition:offset}. */
    public String source() {
        return source;
    }

    private PolicyDecision resolve(Policy p) {
        List<PolicyDecision.ResolvedAdapter> adapters = new ArrayList<>();
        for (ConceptRule rule : p.concepts()) {
            CatalogEntry entry = catalog.get(rule.conceptId());
            try {
                SpmFile spm = catalog.loadVerified(rule.conceptId());
                adapters.add(new PolicyDecision.ResolvedAdapter(entry, spm, rule.transport()));
            } catch (MembraneException e) {
                LOG.severe("policy '" + p.id() + "' refused: adapter '" + rule.conceptId() + "' cannot be used: " + e.getMessage());
                return new PolicyDecision(p, List.of(), "adapter '" + rule.conceptId() + "' cannot be loaded or verified: " + e.getMessage());
            }
        }
        int bad = p.stacking() == dev.membrane.spm.StackingMode.OFFICIAL
                ? dev.membrane.spm.AdapterSlots.officialMismatch(adapters.stream().map(PolicyDecision.ResolvedAdapter::file).toList())
                : -1;
        if (bad >= 0) {
            String why = "official stacking needs one rank and alpha across the stack, and adapter '" + adapters.get(bad).entry().id()
                    + "' differs from '" + adapters.get(0).entry().id() + "'";
            LOG.severe("policy '" + p.id() + "' refused: " + why);
            return new PolicyDecision(p, List.of(), why);
        }
        String classifierProblem = classifierProblem(p.outputCheck());
        if (classifierProblem != null) {
            LOG.severe("policy '" + p.id() + "' refused: " + classifierProblem);
            return new PolicyDecision(p, List.of(), classifierProblem);
        }
        return new PolicyDecision(p, List.copyOf(adapters), null);
    }

    /** Why the output check cannot run (fail closed), or null. */
    private String classifierProblem(OutputCheck check) {
        if (check == null) return null;
        ClassifierCard card = classifiers.get(check.classifier());
        if (card == null) {
            return "output check names classifier '" + check.classifier() + "', which no served model loads (loaded: " + classifiers.keySet() + ")"
                    + (classifierFailures.isEmpty() ? "" : "; failed to load: " + String.join("; ", classifierFailures));
        }
        if (check.sha256() != null && !check.sha256().equals(card.modelSha256())) {
            return "classifier '" + check.classifier() + "' has SHA-256 " + card.modelSha256() + ", not the pinned " + check.sha256();
        }
        for (OutputCheck.Rule r : check.rules()) {
            if (!card.labels().contains(r.label())) {
                return "classifier '" + check.classifier() + "' has no label '" + r.label() + "' (labels: " + card.labels() + ")";
            }
        }
        return null;
    }

    /** What applies to a tenant and app. */
    public PolicyDecision decide(String tenant, String app) {
        Loaded l = current;
        Policy p = l.document().policyFor(tenant, app);
        if (p == null) return new PolicyDecision(null, List.of(), "no policy applies to tenant '" + tenant + "', app '" + app + "'");
        return l.decisions().get(p.id());
    }

    /** The decision precomputed for one policy of the document in force. */
    public PolicyDecision decision(String policyId) {
        return current.decisions().get(policyId);
    }

    public PolicyDocument document() {
        return current.document();
    }

    /** The last load's problem, or null. */
    public String lastError() {
        return lastError;
    }

    /** Whether every policy of the document in force can be served. */
    public boolean allPoliciesServable() {
        return current.decisions().values().stream().noneMatch(PolicyDecision::refused);
    }
}
