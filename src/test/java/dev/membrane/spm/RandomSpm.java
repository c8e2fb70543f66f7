package dev.membrane.spm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Test helper: SPM files with random factors, written in the official format and read back. */
public final class RandomSpm {
    private RandomSpm() {
    }

    /** An adapter on every {@code every}-th site (1 = all), rank r, alpha, random values of visible size. */
    public static SpmFile create(Path file, List<AdapterSite> sites, int rank, float alpha, long seed, int every, String prompts) {
        Random r = new Random(seed);
        List<AdapterSite> chosen = new ArrayList<>();
        List<SpmModule> modules = new ArrayList<>();
        for (int i = 0; i < sites.size(); i += every) {
            AdapterSite s = sites.get(i);
            float[] down = new float[rank * s.in()];
            float[] up = new float[s.out() * rank];
            for (int j = 0; j < down.length; j++) down[j] = (float) (r.nextGaussian() / Math.sqrt(s.in()));
            for (int j = 0; j < up.length; j++) up[j] = (float) (r.nextGaussian() * 0.3);
            chosen.add(s);
            modules.add(new SpmModule(s.key(), down, up, rank, s.in(), s.out(), alpha));
        }
        SpmFile.write(file, List.of(prompts.split(",")), chosen, modules);
        return SpmFile.read(file);
    }
}
