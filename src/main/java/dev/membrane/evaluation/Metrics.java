package dev.membrane.evaluation;

import java.util.ArrayList;
import java.util.List;

/** The measures of a report, over lists of classified images. */
public final class Metrics {
    private Metrics() {
    }

    /** Fraction of {@code images} the classifier assigns to {@code concept}'s class (NaN when empty). */
    public static double detectionRate(List<Generated> images, Concept concept) {
        if (images.isEmpty()) return Double.NaN;
        long hit = images.stream().filter(g -> g.prediction().classOf(concept.head()) == concept.classId()).count();
        return hit / (double) images.size();
    }

    /** Mean pixel RMS (values in [0, 1]) between paired images, {@code base.get(i)} with {@code moderated.get(i)}. */
    public static double meanRms(List<Generated> base, List<Generated> moderated) {
        if (base.size() != moderated.size()) throw new IllegalArgumentException("unpaired images");
        if (base.isEmpty()) return Double.NaN;
        double sum = 0;
        for (int i = 0; i < base.size(); i++) sum += Images.rms(base.get(i).image(), moderated.get(i).image());
        return sum / base.size();
    }

    /** Fréchet distance of the classifier features of two sets (NaN when either has fewer than 2 images). */
    public static double frechet(List<Generated> a, List<Generated> b) {
        if (a.size() < 2 || b.size() < 2) return Double.NaN;
        return FrechetDistance.between(features(a), features(b));
    }

    static List<float[]> features(List<Generated> images) {
        List<float[]> out = new ArrayList<>(images.size());
        for (Generated g : images) out.add(g.prediction().features());
        return out;
    }

    /** Mean γ of the adapters at {@code indices} over the moderated images (NaN when none). */
    public static double meanGamma(List<Generated> moderated, List<Integer> indices) {
        double sum = 0;
        int n = 0;
        for (Generated g : moderated) {
            for (int i : indices) {
                if (i < g.gammas().size()) {
                    sum += g.gammas().get(i);
                    n++;
                }
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }
}
