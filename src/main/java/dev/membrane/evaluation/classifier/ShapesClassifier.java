package dev.membrane.evaluation.classifier;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import dev.membrane.onnx.ModelSession;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.TensorSignature;
import dev.membrane.onnx.Tensors;
import dev.membrane.world.ShapesWorld;

/**
 * The shapes-world concept classifier on ONNX Runtime ({@link ClassifierExport}'s graph): batches of 64x64 RGB
 * images → per head the predicted class and probabilities, plus the penultimate features. Images of another size
 * are resampled to 64x64 first (bilinear), so it can read a model's output at any resolution.
 *
 * <p>Thread-safe; owns its session.
 */
public final class ShapesClassifier implements AutoCloseable {
    /** Images per session run: small enough to keep the activations a few MB. */
    public static final int CHUNK = 64;
    private final ModelSession session;
    private final TensorSignature input;

    public ShapesClassifier(ModelSession session) {
        this.session = session;
        input = session.inputs().get(ClassifierExport.INPUT);
        if (input == null || !input.isFloating() || input.rank() != 4 || session.inputs().size() != 1) {
            throw session.unsupported("needs a single float image [batch, 3, 64, 64] input");
        }
        for (Head h : Head.values()) {
            if (!session.outputs().containsKey(h.output())) throw session.unsupported("has no " + h.output() + " output");
        }
        if (!session.outputs().containsKey(ClassifierExport.FEATURES)) throw session.unsupported("has no features output");
        String labels = session.customMetadata().get(ClassifierExport.LABELS_KEY);
        if (!ClassifierExport.labelsMetadata().equals(labels)) {
            throw session.unsupported("its classes (" + labels + ") are not this world's (" + ClassifierExport.labelsMetadata() + ")");
        }
    }

    public static ShapesClassifier open(OrtRuntime runtime, Path file) {
        return new ShapesClassifier(runtime.open(file, "shapes classifier"));
    }

    public Path file() {
        return session.file();
    }

    /** Classifies {@code images} (any size, RGB), in order. */
    public List<Prediction> classify(List<BufferedImage> images) {
        int side = ClassifierArchitecture.SIDE;
        int per = 3 * side * side;
        List<Prediction> out = new ArrayList<>(images.size());
        for (int start = 0; start < images.size(); start += CHUNK) {
            int n = Math.min(CHUNK, images.size() - start);
            float[] planar = new float[n * per];
            for (int i = 0; i < n; i++) ShapesWorld.toPlanar(resized(images.get(start + i), side), planar, i * per);
            out.addAll(classifyPlanar(planar, n));
        }
        return out;
    }

    /** Classifies {@code count} images given as planar [count, 3, 64, 64] in [-1, 1], in one session run. */
    public List<Prediction> classifyPlanar(float[] planar, int count) {
        Map<String, float[]> raw = run(planar, count);
        List<Prediction> out = new ArrayList<>(count);
        int f = ClassifierArchitecture.FEATURES;
        float[] features = raw.get(ClassifierExport.FEATURES);
        for (int i = 0; i < count; i++) {
            Map<Head, Integer> classes = new EnumMap<>(Head.class);
            Map<Head, float[]> probabilities = new EnumMap<>(Head.class);
            for (Head h : Head.values()) {
                float[] p = softmax(raw.get(h.output()), i * h.classes(), h.classes());
                probabilities.put(h, p);
                classes.put(h, argmax(p));
            }
            float[] feat = new float[f];
            System.arraycopy(features, i * f, feat, 0, f);
            out.add(new Prediction(classes, probabilities, feat));
        }
        return out;
    }

    /** The raw outputs (logits per head, features) by output name, flat row-major. */
    public Map<String, float[]> run(float[] planar, int count) {
        int side = ClassifierArchitecture.SIDE;
        long[] shape = {count, 3, side, side};
        return OrtErrors.call(session.file(), "classifying images", () -> {
            try (OnnxTensor x = Tensors.floating(session.environment(), planar, shape, input.type());
                 OrtSession.Result result = session.run(Map.of(input.name(), x))) {
                Map<String, float[]> out = new java.util.LinkedHashMap<>();
                for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : result) out.put(e.getKey(), Tensors.readFloats(e.getValue(), e.getKey()));
                return out;
            }
        });
    }

    static BufferedImage resized(BufferedImage image, int side) {
        if (image.getWidth() == side && image.getHeight() == side) return image;
        BufferedImage out = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.drawImage(image, 0, 0, side, side, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    static float[] softmax(float[] logits, int offset, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        double[] e = new double[n];
        for (int i = 0; i < n; i++) sum += e[i] = Math.exp(logits[offset + i] - max);
        float[] p = new float[n];
        for (int i = 0; i < n; i++) p[i] = (float) (e[i] / sum);
        return p;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    @Override
    public void close() {
        session.close();
    }
}
