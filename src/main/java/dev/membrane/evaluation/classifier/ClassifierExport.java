package dev.membrane.evaluation.classifier;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

import dev.membrane.MembraneException;
import dev.membrane.evaluation.classifier.ClassifierArchitecture.ParameterShape;
import dev.membrane.onnx.graph.Attr;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.onnx.graph.WeightStore;

/**
 * Writes the classifier as an ONNX graph: {@code image [batch, 3, 64, 64]} in [-1, 1] → {@code shape_logits},
 * {@code colour_logits}, {@code background_logits}, {@code style_logits} ([batch, classes]) and {@code features}
 * ([batch, 64], the penultimate layer). The class labels of each head are in the metadata
 * ({@link #LABELS_KEY}), so a reader can refuse a classifier of another world.
 */
public final class ClassifierExport {
    public static final String INPUT = "image";
    public static final String FEATURES = "features";
    public static final String LABELS_KEY = "membrane.classifier.labels";

    private ClassifierExport() {
    }

    /** {@code head:label,label;head:...} in head order. */
    public static String labelsMetadata() {
        StringBuilder b = new StringBuilder();
        for (Head h : Head.values()) {
            if (b.length() > 0) b.append(';');
            b.append(h.id()).append(':').append(String.join(",", h.labels()));
        }
        return b.toString();
    }

    public static ModelProto graph(ClassifierWeights weights, Map<String, String> metadata) {
        GraphBuilder g = new GraphBuilder("shapes_classifier", WeightStore.inline());
        for (ParameterShape p : ClassifierArchitecture.parameters()) g.weight(p.name(), weights.get(p.name()), p.shape());
        String x = g.input(INPUT, TensorProto.DataType.FLOAT, "batch", ClassifierArchitecture.CHANNELS,
                ClassifierArchitecture.SIDE, ClassifierArchitecture.SIDE);
        for (int i = 0; i < ClassifierArchitecture.WIDTHS.length; i++) {
            String n = ClassifierArchitecture.conv(i);
            x = g.node("Conv", "/" + n + "/Conv", List.of(x, n + ".weight", n + ".bias"),
                    Attr.ints("kernel_shape", 3, 3), Attr.ints("pads", 1, 1, 1, 1), Attr.ints("strides", 1, 1));
            x = g.node("Relu", "/" + n + "/Relu", List.of(x));
            if (ClassifierArchitecture.pooled(i)) {
                x = g.node("MaxPool", "/" + n + "/MaxPool", List.of(x), Attr.ints("kernel_shape", 2, 2), Attr.ints("strides", 2, 2));
            }
        }
        x = g.node("GlobalAveragePool", "/pool/GlobalAveragePool", List.of(x));
        x = g.node("Flatten", "/pool/Flatten", List.of(x), Attr.i("axis", 1));
        x = g.node("MatMul", "/fc/MatMul", List.of(x, "fc.weight"));
        x = g.node("Add", "/fc/Add", List.of(x, "fc.bias"));
        g.nodeNamed("Relu", "/fc/Relu", List.of(x), List.of(FEATURES));
        g.output(FEATURES, TensorProto.DataType.FLOAT, "batch", ClassifierArchitecture.FEATURES);
        for (Head h : Head.values()) {
            String n = ClassifierArchitecture.head(h);
            String y = g.node("MatMul", "/" + n + "/MatMul", List.of(FEATURES, n + ".weight"));
            g.nodeNamed("Add", "/" + n + "/Add", List.of(y, n + ".bias"), List.of(h.output()));
            g.output(h.output(), TensorProto.DataType.FLOAT, "batch", h.classes());
        }
        ModelProto.Builder model = g.build("membrane").toBuilder();
        model.addMetadataProps(entry(LABELS_KEY, labelsMetadata()));
        metadata.forEach((k, v) -> model.addMetadataProps(entry(k, v)));
        return model.build();
    }

    /** Writes {@code file} through a temporary file and a rename, so a reader never sees half a model. */
    public static void write(ClassifierWeights weights, Map<String, String> metadata, Path file) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            GraphBuilder.write(graph(weights, metadata), tmp);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot write the classifier (" + e.getMessage() + ")");
        }
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
