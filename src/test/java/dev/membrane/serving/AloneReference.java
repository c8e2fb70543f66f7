package dev.membrane.serving;

import ai.onnxruntime.OnnxTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.LatentNoise;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.scheduler.Scheduler;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.spm.AdapterFeeds;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.AdapterSlots;
import dev.membrane.spm.AppliedAdapter;

/**
 * Test reference: the final latents of one request run alone the way {@code StableDiffusionPipeline.generate}
 * runs it (one shared scheduler, the whole request in one {@code Denoiser} batch [uncond…, cond…], adapter slots
 * as {@code AdapterPipeline} fills them), given the γ that {@code AdapterPipeline.generate} reported.
 */
final class AloneReference {
    private AloneReference() {
    }

    /** Final latents [n, 4, h, w] of the request, flat. */
    static float[] latents(AdapterPipeline adapters, RequestSpec spec, List<List<AdapterPipeline.Applied>> applied) {
        StableDiffusionPipeline sd = adapters.pipeline();
        GenerationRequest g = spec.generationRequest();
        int n = g.images().size();
        boolean guided = g.classifierFreeGuidance();
        List<String> prompts = new ArrayList<>();
        if (guided) g.images().forEach(i -> prompts.add(i.negativePrompt()));
        g.images().forEach(i -> prompts.add(i.prompt()));
        TextEmbeddings context = sd.promptEncoder().encode(prompts);
        Scheduler scheduler = g.scheduler().create(sd.schedulerConfig(), g.steps());
        int h = g.height() / 8, w = g.width() / 8;
        float[] latents = new float[n * 4 * h * w];
        for (int b = 0; b < n; b++) {
            float[] noise = LatentNoise.gaussian(g.images().get(b).seed(), h, w, scheduler.initNoiseSigma());
            System.arraycopy(noise, 0, latents, b * noise.length, noise.length);
        }
        List<List<AppliedAdapter>> rows = new ArrayList<>();
        for (int row = 0; row < context.batch(); row++) {
            rows.add(applied.get(guided ? row % n : row).stream().map(a -> new AppliedAdapter(a.file(), a.score().gamma())).toList());
        }
        AdapterSlots slots = AdapterSlots.fill(adapters.layout(), rows, spec.stack().stacking());
        Map<String, OnnxTensor> feeds = OrtErrors.call(sd.unet().session().file(), "reference feeds",
                () -> AdapterFeeds.tensors(sd.unet().session().environment(), adapters.layout(), slots));
        try {
            double[] guidance = new double[n];
            for (int b = 0; b < n; b++) guidance[b] = Math.max(1.0, g.guidanceOf(b));
            return sd.denoiser().denoise(latents, new long[] {n, 4, h, w}, context, guidance, scheduler, feeds, new ArrayList<>());
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }
}
