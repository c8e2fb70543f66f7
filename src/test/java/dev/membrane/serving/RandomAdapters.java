package dev.membrane.serving;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.SpmModule;

/** Test helper: SPM files with random factors large enough to change an image, written and read back. */
final class RandomAdapters {
    private RandomAdapters() {
    }

    /** An adapter on every other site, rank r, alpha, for target prompts {@code prompts} (comma-separated). */
    static SpmFile create(Path file, List<AdapterSite> sites, int rank, float alpha, long seed, String prompts) {
        Random r = new Random(seed);
        List<AdapterSite> chosen = new ArrayList<>();
        List<SpmModule> modules = new ArrayList<>();
        for (int i = 0; i < sites.size(); i += 2) {
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
