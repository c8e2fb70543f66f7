package dev.membrane.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.serving.RequestSpec;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.transport.Transport;

/**
 * A seeded open-loop workload: one-image guided requests whose step counts are drawn from a few values, each with
 * a two-adapter stack out of a small pool (so samples in a batch carry different stacks, as tenants' do), arriving
 * as a Poisson process.
 */
final class LoadArrivals {
    /**
     * @param atMs when it arrives, from the start of the run
     * @param spec the request
     */
    record Arrival(double atMs, RequestSpec spec) {
    }

    private LoadArrivals() {
    }

    /**
     * {@code count} requests; {@code ratePerS} arrivals per second (exponential gaps), or all at 0 when it is
     * infinite (a burst, for capacity).
     */
    static List<Arrival> generate(int count, double ratePerS, long seed, int imageSize, int[] stepChoices, List<SpmFile> pool) {
        Random random = new Random(seed);
        List<Arrival> out = new ArrayList<>();
        double t = 0;
        for (int i = 0; i < count; i++) {
            if (Double.isFinite(ratePerS)) t += -Math.log(1 - random.nextDouble()) / ratePerS * 1e3;
            int steps = stepChoices[random.nextInt(stepChoices.length)];
            int first = random.nextInt(pool.size());
            AdapterPipeline.ImageStack stack = new AdapterPipeline.ImageStack(List.of(
                    new AdapterPipeline.AdapterRequest(pool.get(first), Transport.fixed(1.0)),
                    new AdapterPipeline.AdapterRequest(pool.get((first + 1) % pool.size()), Transport.fixed(1.0))), StackingMode.LINEAR);
            RequestSpec spec = RequestSpec.builder("load-" + i).image(new ImageSpec("a photo of a cat number " + i, "", seed * 1000 + i))
                    .size(imageSize, imageSize).steps(steps).scheduler(SchedulerKind.DDIM).guidanceScale(7.5).stack(stack).build();
            out.add(new Arrival(t, spec));
        }
        return out;
    }
}
