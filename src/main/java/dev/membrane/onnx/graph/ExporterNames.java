package dev.membrane.onnx.graph;

/**
 * How the PyTorch ONNX exporter names nodes after module paths: {@code a.b.0.c} → {@code /a/b.0/c}, numeric
 * segments staying joined to their container's name. The reference builder writes these names, and the SPM site
 * finder and the training twin read them back, so the rule lives in one place.
 */
public final class ExporterNames {
    private ExporterNames() {
    }

    /** {@code down_blocks.0.attentions.1.proj_in} → {@code /down_blocks.0/attentions.1/proj_in}. */
    public static String nodePath(String module) {
        if (module.isEmpty()) return "";
        StringBuilder sb = new StringBuilder();
        for (String part : module.split("\\.")) {
            if (!sb.isEmpty() && part.chars().allMatch(Character::isDigit)) sb.append('.').append(part);
            else sb.append('/').append(part);
        }
        return sb.toString();
    }

    /** The node the exporter gives op {@code opType} of a module: {@code /a/b.0/c/Conv}. */
    public static String node(String module, String opType) {
        return nodePath(module) + "/" + opType;
    }
}
