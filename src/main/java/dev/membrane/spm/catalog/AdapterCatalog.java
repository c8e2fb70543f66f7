package dev.membrane.spm.catalog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.MembraneException;
import dev.membrane.spm.ClosedFormDerivation;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.transport.Transport;

/**
 * The adapter catalog: which SPM files exist, what they erase, and the SHA-256 each is pinned to. A JSON file:
 * <pre>{@code
 * {"adapters": [
 *   {"id": "snoopy", "category": "copyright", "prompts": ["snoopy"], "file": "snoopy.safetensors",
 *    "sha256": "…", "transport": {"kind": "facilitated", "factor": 1.0},
 *    "derivation": {"concept": "snoopy", "surrogate": "a cartoon dog", "preserve": ["…"], "lambda": 0.5}}]}
 * }</pre>
 * {@code transport} is {@code {"kind": "fixed", "gamma": 2.0}} or {@code {"kind": "facilitated", "factor": F}},
 * optionally with {@code "minimum"}. {@code derivation} is present only for closed-form adapters. Files are
 * resolved against the catalog's folder. Immutable.
 */
public final class AdapterCatalog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path source;
    private final Map<String, CatalogEntry> entries;

    private AdapterCatalog(Path source, Map<String, CatalogEntry> entries) {
        this.source = source;
        this.entries = java.util.Collections.unmodifiableMap(entries);
    }

    public static AdapterCatalog load(Path file) {
        return load(file, null);
    }

    /** As {@link #load(Path)}, resolving files against {@code filesDir} (the catalog's folder when null). */
    public static AdapterCatalog load(Path file, Path filesDir) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot read adapter catalog (" + e.getMessage() + ")");
        }
        if (root == null || !root.path("adapters").isArray()) throw new MembraneException(file + ": adapter catalog needs an 'adapters' array");
        Path dir = filesDir != null ? filesDir : file.toAbsolutePath().getParent();
        Map<String, CatalogEntry> entries = new LinkedHashMap<>();
        for (JsonNode n : root.get("adapters")) {
            String id = text(file, n, "id");
            String where = file + ": adapter '" + id + "'";
            List<String> prompts = new ArrayList<>();
            n.path("prompts").forEach(p -> prompts.add(p.asText()));
            if (prompts.isEmpty()) throw new MembraneException(where + " has no prompts");
            String sha = text(file, n, "sha256").toLowerCase(Locale.ROOT);
            if (!sha.matches("[0-9a-f]{64}")) throw new MembraneException(where + ": sha256 is not 64 hex digits");
            CatalogEntry e = new CatalogEntry(id, text(file, n, "category"), List.copyOf(prompts), dir.resolve(text(file, n, "file")),
                    sha, n.has("transport") ? Transport.fromJson(where, n.get("transport")) : Transport.facilitated(1.0),
                    derivation(where, n.get("derivation")));
            if (entries.put(id, e) != null) throw new MembraneException(file + ": adapter id '" + id + "' appears twice");
        }
        return new AdapterCatalog(file, entries);
    }

    private static String text(Path file, JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) throw new MembraneException(file + ": an adapter lacks '" + field + "'");
        return v.asText();
    }

    private static ClosedFormDerivation.Spec derivation(String where, JsonNode d) {
        if (d == null || d.isNull()) return null;
        List<String> preserve = new ArrayList<>();
        d.path("preserve").forEach(p -> preserve.add(p.asText()));
        if (!d.path("concept").isTextual()) throw new MembraneException(where + ": derivation needs a 'concept'");
        return new ClosedFormDerivation.Spec(d.get("concept").asText(), d.path("surrogate").asText(""), preserve,
                d.path("lambda").asDouble(0.5));
    }

    public Path source() {
        return source;
    }

    public Map<String, CatalogEntry> entries() {
        return entries;
    }

    public CatalogEntry get(String id) {
        CatalogEntry e = entries.get(id);
        if (e == null) throw new MembraneException(source + ": no adapter '" + id + "' in the catalog");
        return e;
    }

    /**
     * Reads an entry's file and checks it against its pin; a missing, damaged or different file is an error
     * (callers refuse to serve without it: fail closed).
     */
    public SpmFile loadVerified(String id) {
        CatalogEntry e = get(id);
        SpmFile spm = SpmFile.read(e.file());
        if (!spm.sha256().equals(e.sha256())) {
            throw new MembraneException(e.file() + ": SHA-256 " + spm.sha256() + " does not match the catalog's pin "
                    + e.sha256() + " for adapter '" + id + "'");
        }
        return spm;
    }
}
