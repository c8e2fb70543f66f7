package dev.membrane.testing;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.membrane.Hashes;
import dev.membrane.onnx.graph.Attr;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.onnx.graph.WeightStore;
import dev.membrane.safety.ClassifierCard;
import dev.membrane.safety.ImageClassifier;

/** Output classifier folders for tests, real ONNX graphs with known answers. */
public final class TestClassifiers {
    public static final String ID = "test-always";
    public static final String ALWAYS = "always";
    public static final String NEVER = "never";

    private TestClassifiers() {
    }

    /**
     * A classifier (id {@value #ID}, 64x64 input) whose label {@value #ALWAYS} scores 1 and {@value #NEVER} 0 on
     * every image: the graph reads its input (so a wrong shape still fails) and adds the constant scores.
     */
    public static Path alwaysFiring(Path dir) throws IOException {
        GraphBuilder g = new GraphBuilder("always", WeightStore.inline());
        String x = g.input(ImageClassifier.INPUT, TensorProto.DataType.FLOAT, "batch", 64L, 64L, 3L);
        String mean = g.node("ReduceMean", "/mean", List.of(x), Attr.ints("axes", 1, 2, 3), Attr.i("keepdims", 1));
        String flat = g.node("Flatten", "/flat", List.of(mean), Attr.i("axis", 1));
        String zero = g.node("Mul", "/zero", List.of(flat, g.constant("zero", new float[] {0f})));
        g.nodeNamed("Add", "/scores", List.of(zero, g.constant("fixed_scores", new float[] {1f, 0f}, 1, 2)), List.of(ImageClassifier.OUTPUT));
        g.output(ImageClassifier.OUTPUT, TensorProto.DataType.FLOAT, "batch", 2L);
        Files.createDirectories(dir);
        Path model = dir.resolve("model.onnx");
        GraphBuilder.write(g.build("membrane-test").toBuilder().addMetadataProps(ImageClassifier.labelsEntry(List.of(ALWAYS, NEVER))).build(), model);
        new ClassifierCard(ID, List.of(ALWAYS, NEVER), new ClassifierCard.Input(64, 64, "rgb/255", "bilinear-align-corners"), "model.onnx",
                Hashes.sha256(model), new ClassifierCard.Source("membrane-test", "1", "always", "folder", Hashes.sha256(model), "Apache-2.0"))
                .write(dir);
        return dir;
    }
}
