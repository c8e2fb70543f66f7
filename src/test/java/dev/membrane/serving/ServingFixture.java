package dev.membrane.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.AdapterPipelineTest;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.StackingMode;
import dev.membrane.spm.UNetPreparer;
import dev.membrane.spm.transport.Transport;

/** A prepared pipeline on a model folder, and the checks of a batch's outcome against each request run alone. */
final class ServingFixture implements AutoCloseable {
    final StableDiffusionPipeline prepared;
    final AdapterPipeline adapters;

    ServingFixture(Path modelDir, Path work, OrtRuntime runtime, int slots) {
        ModelFolder folder = ModelFolder.open(modelDir);
        Path preparedUnet = work.resolve("model.spm.onnx");
        UNetPreparer.prepare(folder.unet(), slots, preparedUnet);
        prepared = StableDiffusionPipeline.open(folder, preparedUnet, runtime);
        adapters = new AdapterPipeline(prepared);
    }

    static AdapterPipeline.ImageStack stack(StackingMode mode, AdapterPipeline.AdapterRequest... adapters) {
        return new AdapterPipeline.ImageStack(List.of(adapters), mode);
    }

    static AdapterPipeline.AdapterRequest adapter(SpmFile file, Transport transport) {
        return new AdapterPipeline.AdapterRequest(file, transport);
    }

    /**
     * The request's outcome equals the request generated alone by {@code AdapterPipeline.generate}: the same PNGs
     * (at most one level apart, the decoder's rounding) and γ, and final latents within 1e-4 of the alone run's
     * (relative to their largest magnitude).
     */
    void assertEqualsAlone(RequestSpec spec, FinishedRequest outcome) throws Exception {
        assertTrue(outcome instanceof FinishedRequest.Completed, () -> spec.id() + ": " + outcome);
        FinishedRequest.Completed done = (FinishedRequest.Completed) outcome;
        int n = spec.images().size();
        AdapterPipeline.Result alone = adapters.generate(spec.generationRequest(), Collections.nCopies(n, spec.stack()));
        assertEquals(n, done.images().size());
        float[] reference = AloneReference.latents(adapters, spec, alone.applied());
        int perImage = reference.length / n;
        for (int i = 0; i < n; i++) {
            FinishedImage image = done.images().get(i);
            assertEquals(spec.images().get(i), image.spec());
            int diff = AdapterPipelineTest.maxDiff(alone.generation().images().get(i).png(), image.png());
            assertTrue(diff <= 1, spec.id() + " image " + i + ": pixels differ by " + diff + " from the request alone");
            List<AdapterPipeline.Applied> expected = alone.applied().get(i);
            assertEquals(expected.size(), image.applied().size());
            for (int a = 0; a < expected.size(); a++) {
                assertEquals(expected.get(a).file().sha256(), image.applied().get(a).file().sha256());
                assertEquals(expected.get(a).score().gamma(), image.applied().get(a).score().gamma(), 1e-9, spec.id() + " γ");
            }
            double max = 0, err = 0;
            for (int k = 0; k < perImage; k++) {
                max = Math.max(max, Math.abs(reference[i * perImage + k]));
                err = Math.max(err, Math.abs(reference[i * perImage + k] - image.latents()[k]));
            }
            assertTrue(max > 0.1, "reference latents are not trivial");
            assertTrue(err / max <= 1e-4, spec.id() + " image " + i + ": latents differ by " + err / max + " (relative) from the request alone");
        }
    }

    @Override
    public void close() {
        prepared.close();
    }
}
