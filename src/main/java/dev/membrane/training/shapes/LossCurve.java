package dev.membrane.training.shapes;

import java.util.ArrayList;
import java.util.List;

/** A stage's loss, averaged over windows of steps, for the training-curves plot and the recipe JSON. */
final class LossCurve {
    private final String stage;
    private final int window;
    private final List<double[]> points = new ArrayList<>();
    private double sum;
    private int count;
    private double smoothed = Double.NaN;

    LossCurve(String stage, int total) {
        this.stage = stage;
        this.window = Math.max(1, total / 100);
    }

    void add(int step, double loss) {
        smoothed = Double.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
        sum += loss;
        count++;
        if (count == window) {
            points.add(new double[] {step, sum / count});
            sum = 0;
            count = 0;
        }
    }

    /** The progress line's detail: the loss, exponentially smoothed over about 50 steps. */
    String progressDetail() {
        return String.format(java.util.Locale.ROOT, "loss %.5f", smoothed);
    }

    String stage() {
        return stage;
    }

    /** (step, mean loss) pairs. */
    List<double[]> points() {
        return points;
    }

    double last() {
        return points.isEmpty() ? Double.NaN : points.get(points.size() - 1)[1];
    }
}
