package dev.membrane.safety.tfjs;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.Hashes;
import dev.membrane.MembraneException;

/**
 * A TF.js Layers model bundled inside the nsfwjs package: {@code dist/models/<name>/model.min.js} holds the
 * {@code model.json} (topology and weights manifest) and {@code group1-shardNofM.min.js} the weight shards as
 * base64, each as the value of a browserify module ({@code a.exports=...}).
 *
 * @param name           the folder name (mobilenet_v2, inception_v3)
 * @param packageName    package.json's name
 * @param packageVersion package.json's version
 * @param sourceSha256   SHA-256 of the tarball; for a folder, of the model's own files in order
 * @param sourceKind     "tarball" or "folder"
 * @param modelJson      the model.json object
 * @param weightData     the shards' bytes, concatenated in manifest order
 * @param labels         the classes in score order, from the package's {@code NSFW_CLASSES}
 */
public record BundledModel(String name, String packageName, String packageVersion, String sourceSha256, String sourceKind,
                           JsonNode modelJson, byte[] weightData, List<String> labels) {

    /** The nsfwjs Layers models this import knows (mobilenet_v2_mid is a graph model, not Layers). */
    public static final List<String> MODELS = List.of("mobilenet_v2", "inception_v3");

    private static final String CLASSES = "dist/esm/nsfw_classes.js";
    private static final Pattern MODULE_VALUE = Pattern.compile("\\{1:\\[function\\(([\\w$]+),([\\w$]+),([\\w$]+)\\)\\{\\2\\.exports=");

    public static BundledModel read(Path source, String name) {
        String model = name.toLowerCase(Locale.ROOT);
        if (!MODELS.contains(model)) {
            throw new MembraneException("unknown nsfwjs model '" + name + "' (known: " + String.join(", ", MODELS) + ")");
        }
        String folder = "dist/models/" + model + "/";
        // one pass over the tarball: the package's identity, its class labels, the model's files
        Map<String, byte[]> files = PackageFiles.read(source, p -> p.equals("package.json") || p.equals(CLASSES) || p.startsWith(folder));
        byte[] pkg = files.get("package.json");
        if (pkg == null) throw new MembraneException(source + ": no package.json");
        JsonNode pkgJson;
        try {
            pkgJson = new ObjectMapper().readTree(pkg);
        } catch (java.io.IOException e) {
            throw new MembraneException(source + ": package.json is not JSON (" + e.getMessage() + ")");
        }
        String packageName = pkgJson.path("name").asText("");
        if (!packageName.equals("nsfwjs")) throw new MembraneException(source + ": package '" + packageName + "' is not nsfwjs");
        byte[] modelJs = files.get(folder + "model.min.js");
        if (modelJs == null) throw new MembraneException(source + ": no " + folder + "model.min.js in the package");
        JsonNode modelJson = moduleValue(modelJs, folder + "model.min.js");
        if (!modelJson.path("modelTopology").isObject() || !modelJson.path("weightsManifest").isArray()) {
            throw new MembraneException(source + ": " + folder + "model.min.js holds no Layers model (modelTopology, weightsManifest)");
        }
        ByteArrayOutputStream weights = new ByteArrayOutputStream();
        List<byte[]> ownFiles = new ArrayList<>(List.of(modelJs));
        for (JsonNode group : modelJson.get("weightsManifest")) {
            for (JsonNode path : group.path("paths")) {
                String shard = folder + path.asText() + ".min.js";
                byte[] js = files.get(shard);
                if (js == null) throw new MembraneException(source + ": the manifest names " + path.asText() + " but " + shard + " is missing");
                ownFiles.add(js);
                JsonNode value = moduleValue(js, shard);
                if (!value.isTextual()) throw new MembraneException(source + ": " + shard + " does not hold a base64 string");
                weights.writeBytes(Base64.getDecoder().decode(value.asText()));
            }
        }
        String kind = Files.isDirectory(source) ? "folder" : "tarball";
        String sha = kind.equals("tarball") ? fileSha(source) : concatenatedSha(ownFiles);
        return new BundledModel(model, packageName, pkgJson.path("version").asText(""), sha, kind, modelJson, weights.toByteArray(),
                labels(source, files.get(CLASSES)));
    }

    /** {@code NSFW_CLASSES}: index → label, read as data from the package's module. */
    private static List<String> labels(Path source, byte[] js) {
        if (js == null) throw new MembraneException(source + ": no " + CLASSES + " (the class labels)");
        String text = new String(js, StandardCharsets.UTF_8);
        int at = text.indexOf("NSFW_CLASSES");
        int brace = at < 0 ? -1 : text.indexOf('{', at);
        if (brace < 0) throw new MembraneException(source + ": " + CLASSES + " does not define NSFW_CLASSES");
        JsonNode classes = JsLiteral.parse(text, brace, CLASSES);
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < classes.size(); i++) {
            JsonNode l = classes.get(Integer.toString(i));
            if (l == null || !l.isTextual()) throw new MembraneException(source + ": NSFW_CLASSES has no label " + i);
            labels.add(l.asText());
        }
        return List.copyOf(labels);
    }

    /** The literal a browserify bundle's module 1 assigns to its exports. */
    static JsonNode moduleValue(byte[] js, String where) {
        String text = new String(js, StandardCharsets.UTF_8);
        Matcher m = MODULE_VALUE.matcher(text);
        if (!m.find()) throw new MembraneException(where + ": not a browserify bundle of one data module");
        return JsLiteral.parse(text, m.end(), where);
    }

    private static String fileSha(Path file) {
        try {
            return Hashes.sha256(file);
        } catch (java.io.IOException e) {
            throw new MembraneException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    private static String concatenatedSha(List<byte[]> parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) md.update(p);
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
