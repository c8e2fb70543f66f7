package dev.membrane.evaluation.classifier;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The concept classifier's layers: five 3x3 convolutions with ReLU from 64x64 down to 4x4 (the first four each
 * followed by a 2x2 max-pool, the last at 4x4), global average pooling, one fully connected layer whose ReLU output is the {@code features} (the
 * penultimate layer, for the Fréchet distance), and one linear head per attribute. Global pooling rather than a
 * flattened map keeps the heads independent of where a shape sits; the last convolution at 4x4 gives each pooled
 * feature a receptive field wider than the largest shape. About 89k parameters (356 KB in fp32).
 */
public final class ClassifierArchitecture {
    public static final int SIDE = 64;
    public static final int CHANNELS = 3;
    /** Output channels of conv1..conv5. */
    public static final int[] WIDTHS = {16, 32, 48, 64, 64};
    /** Whether conv{@code index + 1} is followed by a 2x2 max-pool (conv1 to conv4). */
    public static boolean pooled(int index) {
        return index < 4;
    }
    public static final int FEATURES = 64;

    private ClassifierArchitecture() {
    }

    /** One parameter tensor: its name (also its initializer name in the ONNX graph) and shape. */
    public record ParameterShape(String name, long[] shape, int fanIn, boolean bias) {
        public int size() {
            long n = 1;
            for (long d : shape) n *= d;
            return (int) n;
        }
    }

    /** Every parameter in a fixed order. Linear weights are stored [in, out] (MatMul's layout). */
    public static List<ParameterShape> parameters() {
        List<ParameterShape> out = new ArrayList<>();
        int in = CHANNELS;
        for (int i = 0; i < WIDTHS.length; i++) {
            String name = conv(i);
            out.add(new ParameterShape(name + ".weight", new long[] {WIDTHS[i], in, 3, 3}, in * 9, false));
            out.add(new ParameterShape(name + ".bias", new long[] {WIDTHS[i]}, in * 9, true));
            in = WIDTHS[i];
        }
        out.add(new ParameterShape("fc.weight", new long[] {in, FEATURES}, in, false));
        out.add(new ParameterShape("fc.bias", new long[] {FEATURES}, in, true));
        for (Head h : Head.values()) {
            out.add(new ParameterShape(head(h) + ".weight", new long[] {FEATURES, h.classes()}, FEATURES, false));
            out.add(new ParameterShape(head(h) + ".bias", new long[] {h.classes()}, FEATURES, true));
        }
        return out;
    }

    public static Map<String, ParameterShape> byName() {
        Map<String, ParameterShape> m = new LinkedHashMap<>();
        for (ParameterShape p : parameters()) m.put(p.name(), p);
        return m;
    }

    public static String conv(int index) {
        return "conv" + (index + 1);
    }

    public static String head(Head h) {
        return "head_" + h.id();
    }
}
