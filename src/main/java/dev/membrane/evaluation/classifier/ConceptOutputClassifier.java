package dev.membrane.evaluation.classifier;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import dev.membrane.Hashes;
import dev.membrane.MembraneException;
import dev.membrane.onnx.graph.Attr;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.safety.ClassifierCard;
import dev.membrane.safety.ImageClassifier;

/**
 * The shapes world's concept classifier as an output classifier folder, so that the gateway's output check can
 * block what an SPM let through on the shapes model: the committed {@code classifier.onnx} with the output
 * classifier's interface around it. In front, {@code images [batch, 64, 64, 3]} in [0, 1] becomes its planar
 * [-1, 1] input; behind, each head's logits go through a softmax and the four are concatenated into
 * {@code scores [batch, 17]}, labels in head order (6 shapes, 6 colours, 3 backgrounds, solid/striped). Each head's
 * probabilities sum to 1, so a rule on {@code circle} reads "the shape head says circle with this probability".
 */
public final class ConceptOutputClassifier {
    public static final String ID = "shapes-concepts";

    private ConceptOutputClassifier() {
    }

    public static List<String> labels() {
        List<String> out = new ArrayList<>();
        for (Head h : Head.values()) out.addAll(h.labels());
        return out;
    }

    /** Writes {@code out/model.onnx} and {@code out/classifier.json} from the concept classifier file. */
    public static ClassifierCard write(Path conceptClassifier, Path out) {
        ModelProto inner = GraphBuilder.read(conceptClassifier);
        String labelsMeta = inner.getMetadataPropsList().stream().filter(e -> e.getKey().equals(ClassifierExport.LABELS_KEY))
                .map(e -> e.getValue()).findFirst().orElse(null);
        if (!ClassifierExport.labelsMetadata().equals(labelsMeta)) {
            throw new MembraneException(conceptClassifier + ": not this world's concept classifier (labels " + labelsMeta + ")");
        }
        GraphProto.Builder g = inner.getGraph().toBuilder();
        String normalized = "/wrap/normalized";
        // the inner graph now reads the normalised tensor instead of its own input
        List<NodeProto> nodes = new ArrayList<>();
        for (NodeProto n : g.getNodeList()) {
            NodeProto.Builder b = n.toBuilder();
            for (int i = 0; i < b.getInputCount(); i++) if (b.getInput(i).equals(ClassifierExport.INPUT)) b.setInput(i, normalized);
            nodes.add(b.build());
        }
        g.clearNode().clearInput().clearOutput();
        int side = ClassifierArchitecture.SIDE;
        g.addInput(ValueInfoProto.newBuilder().setName(ImageClassifier.INPUT).setType(GraphBuilder.tensorType(TensorProto.DataType.FLOAT, "batch", (long) side, (long) side, 3L)));
        g.addInitializer(scalar("/wrap/two", 2f)).addInitializer(scalar("/wrap/one", 1f));
        g.addNode(node("Transpose", "/wrap/Transpose", List.of(ImageClassifier.INPUT), "/wrap/planar", Attr.ints("perm", 0, 3, 1, 2)));
        g.addNode(node("Mul", "/wrap/Mul", List.of("/wrap/planar", "/wrap/two"), "/wrap/doubled"));
        g.addNode(node("Sub", "/wrap/Sub", List.of("/wrap/doubled", "/wrap/one"), normalized));
        g.addAllNode(nodes);
        List<String> probabilities = new ArrayList<>();
        for (Head h : Head.values()) {
            String p = "/wrap/" + h.id() + "/Softmax_output_0";
            g.addNode(node("Softmax", "/wrap/" + h.id() + "/Softmax", List.of(h.output()), p, Attr.i("axis", 1)));
            probabilities.add(p);
        }
        g.addNode(node("Concat", "/wrap/Concat", probabilities, ImageClassifier.OUTPUT, Attr.i("axis", 1)));
        g.addOutput(ValueInfoProto.newBuilder().setName(ImageClassifier.OUTPUT).setType(GraphBuilder.tensorType(TensorProto.DataType.FLOAT, "batch", (long) labels().size())));
        ModelProto model = inner.toBuilder().setGraph(g).setProducerName("membrane").addMetadataProps(ImageClassifier.labelsEntry(labels())).build();
        try {
            Files.createDirectories(out);
            Path file = out.resolve("model.onnx");
            Path tmp = out.resolve("model.onnx.tmp");
            GraphBuilder.write(model, tmp);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            ClassifierCard card = new ClassifierCard(ID, labels(), new ClassifierCard.Input(side, side, "rgb/255", "bilinear-align-corners"),
                    "model.onnx", Hashes.sha256(file), new ClassifierCard.Source("membrane", "shapes-world", conceptClassifier.getFileName().toString(),
                    "file", Hashes.sha256(conceptClassifier), "Apache-2.0"));
            card.write(out);
            return card;
        } catch (IOException e) {
            throw new MembraneException(out + ": cannot write the output classifier (" + e.getMessage() + ")");
        }
    }

    /**
     * The folder for {@code conceptClassifier} under {@code out}: written when absent or when it was made from
     * another file (its card's source SHA-256 differs), else reused.
     */
    public static Path ensure(Path conceptClassifier, Path out) {
        try {
            String sha = Hashes.sha256(conceptClassifier);
            if (Files.isRegularFile(out.resolve(ClassifierCard.FILE))) {
                ClassifierCard card = ClassifierCard.read(out);
                if (card.source() != null && sha.equals(card.source().sha256()) && Files.isRegularFile(out.resolve(card.model()))) return out;
            }
        } catch (IOException | MembraneException stale) {
            // rewritten below
        }
        write(conceptClassifier, out);
        return out;
    }

    private static TensorProto scalar(String name, float v) {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v);
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT.getNumber()).setRawData(ByteString.copyFrom(b.array())).build();
    }

    private static NodeProto node(String op, String name, List<String> inputs, String output, AttributeProto... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output);
        for (AttributeProto a : attrs) n.addAttribute(a);
        return n.build();
    }
}
