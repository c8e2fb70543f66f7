package dev.membrane.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.membrane.MembraneException;

/**
 * {@code membrane.models.*} read as served models: {@code membrane.models.<id>=DIR} is a model folder and
 * {@code membrane.models.<id>.classifier=DIR} its output classifier folder. A classifier alone (no folder for its
 * id) attaches to the embedded default when that has the id.
 *
 * @param folders     model id → model folder, in configuration order
 * @param classifiers model id → classifier folder
 */
record ModelEntries(Map<String, String> folders, Map<String, Path> classifiers) {
    static final String CLASSIFIER_SUFFIX = ".classifier";

    static ModelEntries parse(Map<String, String> raw) {
        Map<String, String> folders = new LinkedHashMap<>();
        Map<String, Path> classifiers = new LinkedHashMap<>();
        raw.forEach((key, value) -> {
            // SmallRye may hand a nested key over quoted ("shapes.classifier" with its quotes)
            String k = key.startsWith("\"") && key.endsWith("\"") && key.length() > 1 ? key.substring(1, key.length() - 1) : key;
            if (k.endsWith(CLASSIFIER_SUFFIX)) classifiers.put(k.substring(0, k.length() - CLASSIFIER_SUFFIX.length()), Path.of(value));
            else if (k.contains(".")) throw new MembraneException("membrane.models." + k + ": unknown setting (a model is membrane.models.<id>=DIR, its classifier membrane.models.<id>.classifier=DIR)");
            else folders.put(k, value);
        });
        return new ModelEntries(folders, classifiers);
    }
}
