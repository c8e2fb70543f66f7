package dev.membrane.bench;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import dev.membrane.onnx.OrtRuntime;
import dev.membrane.safety.ImageClassifier;

/**
 * What the output check costs per image: {@link ImageClassifier#classify} (resize to the classifier's input,
 * scaling, one session run) on generated-size images, at batch 1 and batch 8, median over repetitions after a
 * warm-up.
 */
public final class OutputCheckCost {
    private OutputCheckCost() {
    }

    /** Per-image milliseconds of one classifier at one batch size. */
    public record Result(String classifier, int inputSide, int batch, Stats msPerImage) {
    }

    public static List<Result> measure(OrtRuntime runtime, Path dir, int imageSide, int warmup, int reps, Consumer<String> progress) {
        List<Result> out = new ArrayList<>();
        try (ImageClassifier c = ImageClassifier.open(runtime, dir)) {
            for (int batch : new int[] {1, 8}) {
                progress.accept("output check " + c.card().id() + ", batch " + batch);
                List<BufferedImage> images = noise(batch, imageSide, 7);
                for (int i = 0; i < warmup; i++) c.classify(images);
                List<Double> ms = new ArrayList<>();
                for (int i = 0; i < reps; i++) {
                    long t0 = System.nanoTime();
                    c.classify(images);
                    ms.add((System.nanoTime() - t0) / 1e6 / batch);
                }
                out.add(new Result(c.card().id(), c.card().input().width(), batch, Stats.of(ms)));
            }
        }
        return out;
    }

    private static List<BufferedImage> noise(int n, int side, long seed) {
        Random r = new Random(seed);
        List<BufferedImage> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            BufferedImage b = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < side; y++) for (int x = 0; x < side; x++) b.setRGB(x, y, r.nextInt(1 << 24));
            out.add(b);
        }
        return out;
    }
}
