package dev.membrane.diffusion;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.scheduler.Scheduler;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.onnx.ExecutionTarget;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.tokenizer.ClipTokenizer;

/**
 * Text-to-image with a Stable Diffusion 1.x ONNX export: tokenize → encode text → denoise → decode → PNG.
 * Several images share each UNet call.
 *
 * <p>Thread-safe: the stages hold only sessions and immutable data; each call has its own scheduler and buffers.
 */
public final class StableDiffusionPipeline implements AutoCloseable {
    private final ModelFolder folder;
    private final SchedulerConfig schedulerConfig;
    private final PromptEncoder promptEncoder;
    private final Denoiser denoiser;
    private final LatentDecoder decoder;
    private final AutoCloseable[] owned;
    private final ExecutionTarget target;

    private StableDiffusionPipeline(ModelFolder folder, SchedulerConfig schedulerConfig, PromptEncoder promptEncoder,
                                    Denoiser denoiser, LatentDecoder decoder, ExecutionTarget target, AutoCloseable... owned) {
        this.folder = folder;
        this.schedulerConfig = schedulerConfig;
        this.promptEncoder = promptEncoder;
        this.denoiser = denoiser;
        this.decoder = decoder;
        this.target = target;
        this.owned = owned;
    }

    /** Opens every session of the model folder; fails with the file and the problem named. */
    public static StableDiffusionPipeline open(Path modelDir, OrtRuntime runtime) {
        ModelFolder folder = ModelFolder.open(modelDir);
        return open(folder, folder.unet(), runtime);
    }

    /** As {@link #open(Path, OrtRuntime)} but with another UNet file (a prepared one, say). */
    public static StableDiffusionPipeline open(ModelFolder folder, Path unetFile, OrtRuntime runtime) {
        SchedulerConfig scheduler = SchedulerConfig.load(folder.schedulerConfig());
        ClipTokenizer tokenizer = ClipTokenizer.load(folder.tokenizer());
        TextEncoderModel text = new TextEncoderModel(runtime.open(folder.textEncoder(), "text encoder"));
        UNetModel unet = null;
        VaeDecoderModel vae = null;
        try {
            unet = new UNetModel(runtime.open(unetFile, "UNet"));
            vae = new VaeDecoderModel(runtime.open(folder.vaeDecoder(), "VAE decoder"));
        } catch (RuntimeException e) {
            text.close();
            if (unet != null) unet.close();
            throw e;
        }
        return new StableDiffusionPipeline(folder, scheduler, new PromptEncoder(tokenizer, text), new Denoiser(unet),
                new LatentDecoder(vae), runtime.target(), text, unet, vae);
    }

    public ModelFolder folder() {
        return folder;
    }

    public SchedulerConfig schedulerConfig() {
        return schedulerConfig;
    }

    public PromptEncoder promptEncoder() {
        return promptEncoder;
    }

    public Denoiser denoiser() {
        return denoiser;
    }

    public UNetModel unet() {
        return denoiser.unet();
    }

    public LatentDecoder decoder() {
        return decoder;
    }

    public ExecutionTarget target() {
        return target;
    }

    public GenerationResult generate(GenerationRequest request) {
        return generate(request, prompts -> Map.of());
    }

    /**
     * Generates every image of the request in one denoising run. {@code extraInputs} sees the encoded prompts once
     * and returns further UNet inputs (adapter slots) used by every UNet call and closed afterwards.
     */
    public GenerationResult generate(GenerationRequest request, ExtraUNetInputs extraInputs) {
        List<ImageSpec> images = request.images();
        int batch = images.size();
        boolean guided = request.classifierFreeGuidance();

        long t0 = System.nanoTime();
        List<String> prompts = new ArrayList<>();
        if (guided) images.forEach(i -> prompts.add(i.negativePrompt()));
        images.forEach(i -> prompts.add(i.prompt()));
        int[][] ids = promptEncoder.tokenize(prompts);
        long t1 = System.nanoTime();
        TextEmbeddings context = promptEncoder.encodeIds(ids);
        long t2 = System.nanoTime();
        long contextWidth = denoiser.unet().contextWidth();
        if (contextWidth > 0 && contextWidth != context.width()) {
            throw new MembraneException(folder.root() + ": text encoder width " + context.width()
                    + " does not match the UNet's encoder_hidden_states width " + contextWidth);
        }

        Scheduler scheduler = request.scheduler().create(schedulerConfig, request.steps());
        int h = request.height() / 8;
        int w = request.width() / 8;
        float[] latents = new float[batch * 4 * h * w];
        for (int b = 0; b < batch; b++) {
            float[] noise = LatentNoise.gaussian(images.get(b).seed(), h, w, scheduler.initNoiseSigma());
            System.arraycopy(noise, 0, latents, b * noise.length, noise.length);
        }
        long[] shape = {batch, 4, h, w};
        List<Double> unetMs = new ArrayList<>();
        Map<String, OnnxTensor> extraFeeds = OrtErrors.call(folder.unet(), "preparing extra UNet inputs",
                () -> extraInputs.create(new EncodedPrompts(context, ids, batch, guided)));
        try {
            double[] guidance = new double[batch];
            for (int b = 0; b < batch; b++) guidance[b] = Math.max(1.0, request.guidanceOf(b));
            latents = denoiser.denoise(latents, shape, context, guidance, scheduler, extraFeeds, unetMs);
        } finally {
            extraFeeds.values().forEach(OnnxTensor::close);
        }
        long t3 = System.nanoTime();
        byte[][] rgb = decoder.decode(latents, shape, request.width(), request.height());
        long t4 = System.nanoTime();
        List<GenerationResult.GeneratedImage> out = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            out.add(new GenerationResult.GeneratedImage(images.get(b),
                    PngEncoder.encodeRgb(rgb[b], request.width(), request.height()), request.width(), request.height()));
        }
        long t5 = System.nanoTime();
        return new GenerationResult(out, new GenerationResult.StageTimings((t1 - t0) / 1e6, (t2 - t1) / 1e6,
                (t3 - t2) / 1e6, (t4 - t3) / 1e6, (t5 - t4) / 1e6, List.copyOf(unetMs)));
    }

    @Override
    public void close() {
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                // closing the others matters more than this one's failure
            }
        }
    }
}
