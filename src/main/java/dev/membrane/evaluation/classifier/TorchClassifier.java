package dev.membrane.evaluation.classifier;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.membrane.evaluation.classifier.ClassifierArchitecture.ParameterShape;

/**
 * The classifier's forward pass on DJL's PyTorch engine, the computation the ONNX export ({@link ClassifierExport})
 * writes node by node. Nothing multiplies by a Java number (see {@code TwinLayers}): the loss's constants are tensors
 * of the pass's manager, which outlives the backward pass.
 */
public final class TorchClassifier {
    private static final Shape STRIDE_1 = new Shape(1, 1);
    private static final Shape PAD_1 = new Shape(1, 1);
    private static final Shape DILATION = new Shape(1, 1);
    private static final Shape POOL = new Shape(2, 2);
    private static final Shape NO_PAD = new Shape(0, 0);

    private TorchClassifier() {
    }

    /** The weights as NDArrays of {@code m}, recording gradients when {@code trainable}. */
    public static Map<String, NDArray> bind(NDManager m, ClassifierWeights weights, boolean trainable) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (ParameterShape p : ClassifierArchitecture.parameters()) {
            NDArray a = m.create(weights.get(p.name()), new Shape(p.shape()));
            if (trainable) a.setRequiresGradient(true);
            out.put(p.name(), a);
        }
        return out;
    }

    /** Logits per head ([B, classes]) and the penultimate features ([B, FEATURES]). */
    public record Output(Map<Head, NDArray> logits, NDArray features) {
    }

    /** {@code images}: [B, 3, 64, 64] in [-1, 1]. */
    public static Output forward(NDArray images, Map<String, NDArray> p) {
        NDArray x = images;
        for (int i = 0; i < ClassifierArchitecture.WIDTHS.length; i++) {
            String n = ClassifierArchitecture.conv(i);
            x = Conv2d.conv2d(x, p.get(n + ".weight"), p.get(n + ".bias"), STRIDE_1, PAD_1, DILATION, 1).singletonOrThrow();
            x = Activation.relu(x);
            if (ClassifierArchitecture.pooled(i)) x = Pool.maxPool2d(x, POOL, POOL, NO_PAD, false);
        }
        NDArray pooled = Pool.globalAvgPool2d(x); // [B, C]
        NDArray features = Activation.relu(pooled.matMul(p.get("fc.weight")).add(p.get("fc.bias")));
        Map<Head, NDArray> logits = new EnumMap<>(Head.class);
        for (Head h : Head.values()) {
            String n = ClassifierArchitecture.head(h);
            logits.put(h, features.matMul(p.get(n + ".weight")).add(p.get(n + ".bias")));
        }
        return new Output(logits, features);
    }

    /**
     * The training loss: the sum over heads of the mean cross-entropy. {@code oneHot} per head is [B, classes];
     * {@code minusOneOverBatch} is the scalar −1/B as a tensor of the pass.
     */
    public static NDArray loss(Output out, Map<Head, NDArray> oneHot, NDArray minusOneOverBatch) {
        NDArray total = null;
        for (Head h : Head.values()) {
            NDArray picked = out.logits().get(h).logSoftmax(1).mul(oneHot.get(h)).sum();
            total = total == null ? picked : total.add(picked);
        }
        return total.mul(minusOneOverBatch);
    }
}
