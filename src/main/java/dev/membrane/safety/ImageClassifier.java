package dev.membrane.safety;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.membrane.Hashes;
import dev.membrane.MembraneException;
import dev.membrane.onnx.ModelSession;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.TensorSignature;
import dev.membrane.onnx.Tensors;

/**
 * An output classifier folder on ONNX Runtime: images in, a probability per label out. The graph's SHA-256 is
 * checked against its card before the session opens, so a swapped or corrupted file never classifies anything.
 * Thread-safe; owns its session.
 */
public final class ImageClassifier implements AutoCloseable {
    public static final String INPUT = "images";
    public static final String OUTPUT = "scores";
    /** Most images per session run: keeps the activations of the larger models within a few hundred MB. */
    public static final int CHUNK = 8;
    /**
     * The graph's metadata key holding its labels, comma-joined in score order: the card's labels must equal them,
     * so the graph's SHA-256 (the pin) covers which score is which label.
     */
    public static final String LABELS_KEY = "membrane.output.labels";

    private final ClassifierCard card;
    private final ModelSession session;
    private final TensorSignature input;

    private ImageClassifier(ClassifierCard card, ModelSession session) {
        this.card = card;
        this.session = session;
        input = session.inputs().get(INPUT);
        TensorSignature output = session.outputs().get(OUTPUT);
        if (input == null || !input.isFloating() || input.rank() != 4) throw session.unsupported("needs a float input '" + INPUT + "' [batch, H, W, 3]");
        if (output == null) throw session.unsupported("needs an output '" + OUTPUT + "'");
        String labels = session.customMetadata().get(LABELS_KEY);
        if (!String.join(",", card.labels()).equals(labels)) {
            throw session.unsupported("its labels (" + labels + ", metadata " + LABELS_KEY + ") are not its card's " + card.labels());
        }
    }

    /** The metadata entry a classifier graph carries for {@code labels}. */
    public static ai.onnx.proto.OnnxMl.StringStringEntryProto labelsEntry(java.util.List<String> labels) {
        return ai.onnx.proto.OnnxMl.StringStringEntryProto.newBuilder().setKey(LABELS_KEY).setValue(String.join(",", labels)).build();
    }

    /** Opens {@code dir}: its card, the graph verified against the card's SHA-256, the session. */
    public static ImageClassifier open(OrtRuntime runtime, Path dir) {
        ClassifierCard card = ClassifierCard.read(dir);
        Path model = dir.resolve(card.model());
        String sha;
        try {
            sha = Hashes.sha256(model);
        } catch (IOException e) {
            throw new MembraneException(model + ": cannot read the classifier graph (" + e.getMessage() + ")");
        }
        if (!sha.equals(card.modelSha256())) {
            throw new MembraneException(model + ": SHA-256 " + sha + " is not the card's " + card.modelSha256() + " (the file was changed)");
        }
        ModelSession session = runtime.open(model, "classifier " + card.id());
        try {
            return new ImageClassifier(card, session);
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    public ClassifierCard card() {
        return card;
    }

    public Path file() {
        return session.file();
    }

    /** One image's probabilities by label, in the card's label order. */
    public record Scores(Map<String, Double> byLabel) {
        public String top() {
            return byLabel.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        }
    }

    /** Classifies the images (any size, RGB), in order, {@link #CHUNK} per run. */
    public List<Scores> classify(List<BufferedImage> images) {
        int h = card.input().height(), w = card.input().width();
        int per = h * w * 3;
        List<Scores> out = new ArrayList<>(images.size());
        for (int start = 0; start < images.size(); start += CHUNK) {
            int n = Math.min(CHUNK, images.size() - start);
            float[] batch = new float[n * per];
            for (int i = 0; i < n; i++) ImagePreprocessing.toInput(images.get(start + i), h, w, batch, i * per);
            float[] scores = run(batch, n);
            int labels = card.labels().size();
            if (scores.length != n * labels) {
                throw new MembraneException(session.file() + ": " + scores.length / Math.max(1, n) + " scores per image, the card has " + labels + " labels");
            }
            for (int i = 0; i < n; i++) {
                Map<String, Double> byLabel = new LinkedHashMap<>();
                for (int l = 0; l < labels; l++) byLabel.put(card.labels().get(l), (double) scores[i * labels + l]);
                out.add(new Scores(byLabel));
            }
        }
        return out;
    }

    /**
     * What the output check uses: each image classified whole (as {@link #classify}, TF.js's preprocessing) and,
     * when it is not square, also as square tiles spanning its long side, the score of each label being its highest
     * over the whole and the tiles. Squashing a wide image to a square input would otherwise hide a concept drawn
     * in one part of it; taking the maximum can only make a rule fire more often, never less.
     */
    public List<Scores> classifyForCheck(List<BufferedImage> images) {
        List<BufferedImage> all = new ArrayList<>();
        List<Integer> owner = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            all.add(images.get(i));
            owner.add(i);
            for (BufferedImage tile : tiles(images.get(i))) {
                all.add(tile);
                owner.add(i);
            }
        }
        List<Scores> scored = classify(all);
        List<Map<String, Double>> max = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) max.add(new LinkedHashMap<>());
        for (int k = 0; k < all.size(); k++) {
            Map<String, Double> m = max.get(owner.get(k));
            scored.get(k).byLabel().forEach((label, v) -> m.merge(label, v, Math::max));
        }
        return max.stream().map(Scores::new).toList();
    }

    /** Square tiles of side min(w, h) along the long side, evenly placed, first and last at the edges; none if square. */
    static List<BufferedImage> tiles(BufferedImage image) {
        int w = image.getWidth(), h = image.getHeight();
        if (w == h) return List.of();
        int side = Math.min(w, h), length = Math.max(w, h);
        int count = (length + side - 1) / side;
        List<BufferedImage> out = new ArrayList<>();
        for (int t = 0; t < count; t++) {
            int offset = count == 1 ? 0 : (int) Math.round((double) t * (length - side) / (count - 1));
            out.add(w > h ? image.getSubimage(offset, 0, side, side) : image.getSubimage(0, offset, side, side));
        }
        return out;
    }

    private float[] run(float[] batch, int n) {
        long[] shape = {n, card.input().height(), card.input().width(), 3};
        return OrtErrors.call(session.file(), "classifying images", () -> {
            try (OnnxTensor x = Tensors.floating(session.environment(), batch, shape, input.type());
                 OrtSession.Result result = session.run(Map.of(INPUT, x))) {
                return Tensors.readFloats(result.get(OUTPUT).orElseThrow(), OUTPUT);
            }
        });
    }

    /** Reads an image file as RGB. */
    public static BufferedImage readImage(Path file) {
        try {
            BufferedImage img = javax.imageio.ImageIO.read(file.toFile());
            if (img == null) throw new MembraneException(file + ": not an image ImageIO can read (PNG, JPEG, BMP, GIF)");
            return img;
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    @Override
    public void close() {
        session.close();
    }
}
