package dev.membrane.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.diffusion.Denoiser;
import dev.membrane.diffusion.LatentDecoder;
import dev.membrane.diffusion.LatentNoise;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.TextEncoderModel;
import dev.membrane.diffusion.UNetModel;
import dev.membrane.diffusion.VaeDecoderModel;
import dev.membrane.diffusion.scheduler.Scheduler;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.onnx.DeviceChoice;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.RuntimeConfig;
import dev.membrane.tokenizer.ClipTokenizer;

/**
 * The child process of {@link MemoryEstimateCheck}: one generation (text encoder → denoising → decode, as
 * {@code StableDiffusionPipeline.generate} runs them) in a fresh JVM, reading its own peak RSS around each stage.
 * A fresh process matters: ONNX Runtime's arenas keep every high-water mark, so a second run in the same process
 * would measure nothing.
 *
 * <p>The kernel's peak ({@code VmHWM}) is reset to the current RSS after loading by writing 5 to
 * {@code /proc/self/clear_refs}, so that loading's own transient peak does not hide the run's; where the reset is
 * not allowed the JSON says so. Prints one JSON object on stdout.
 *
 * <p>Arguments: {@code modelDir width height images guided steps arena intraOpThreads optimization}.
 */
public final class MemoryProbe {
    private static final Pattern KB = Pattern.compile("(\\d+)\\s*kB");

    private MemoryProbe() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int width = Integer.parseInt(args[1]);
        int height = Integer.parseInt(args[2]);
        int images = Integer.parseInt(args[3]);
        boolean guided = Boolean.parseBoolean(args[4]);
        int steps = Integer.parseInt(args[5]);
        RuntimeConfig rc = new RuntimeConfig(DeviceChoice.CPU, 0, Integer.parseInt(args[7]), args[8], Boolean.parseBoolean(args[6]), false);

        ModelFolder folder = ModelFolder.open(dir);
        OrtRuntime runtime = OrtRuntime.create(rc);
        ClipTokenizer tokenizer = ClipTokenizer.load(folder.tokenizer());
        try (TextEncoderModel text = new TextEncoderModel(runtime.open(folder.textEncoder(), "text encoder"));
             UNetModel unet = new UNetModel(runtime.open(folder.unet(), "UNet"));
             VaeDecoderModel vae = new VaeDecoderModel(runtime.open(folder.vaeDecoder(), "VAE decoder"))) {
            PromptEncoder prompts = new PromptEncoder(tokenizer, text);
            Denoiser denoiser = new Denoiser(unet);
            LatentDecoder decoder = new LatentDecoder(vae);
            ObjectNode out = new ObjectMapper().createObjectNode();
            out.put("loadPeakKb", status("VmHWM"));
            // settle the heap first, so that the baseline is not a moment before the collector gives pages back
            System.gc();
            Thread.sleep(500);
            long rssBefore = status("VmRSS");
            boolean reset = resetPeak();
            out.put("peakReset", reset);
            out.put("rssBeforeKb", rssBefore);

            long t0 = System.nanoTime();
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < images; i++) if (guided) texts.add("");
            for (int i = 0; i < images; i++) texts.add("a photo of a cat number " + i);
            TextEmbeddings context = prompts.encode(texts);
            SchedulerConfig sc = SchedulerConfig.load(folder.schedulerConfig());
            Scheduler scheduler = SchedulerKind.ofConfig(sc).create(sc, steps);
            int h = height / 8;
            int w = width / 8;
            float[] latents = new float[images * 4 * h * w];
            for (int b = 0; b < images; b++) {
                float[] noise = LatentNoise.gaussian(b, h, w, scheduler.initNoiseSigma());
                System.arraycopy(noise, 0, latents, b * noise.length, noise.length);
            }
            long[] shape = {images, 4, h, w};
            double[] guidance = new double[images];
            java.util.Arrays.fill(guidance, guided ? 7.5 : 1.0);
            latents = denoiser.denoise(latents, shape, context, guidance, scheduler, Map.of(), new ArrayList<>());
            long t1 = System.nanoTime();
            out.put("peakAfterUNetKb", status("VmHWM"));
            long rssAfterUNet = status("VmRSS");
            out.put("rssAfterUNetKb", rssAfterUNet);
            if (reset) resetPeak();
            byte[][] rgb = decoder.decode(latents, shape, width, height);
            long t2 = System.nanoTime();
            out.put("peakAfterDecodeKb", status("VmHWM"));
            out.put("rssAfterKb", status("VmRSS"));
            out.put("decodedImages", rgb.length);
            out.put("unetSeconds", (t1 - t0) / 1e9);
            out.put("decodeSeconds", (t2 - t1) / 1e9);
            System.out.println(out);
        }
    }

    /** A {@code /proc/self/status} field in kB (VmRSS: resident now; VmHWM: the peak since start or the last reset). */
    static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                Matcher m = KB.matcher(line);
                if (m.find()) return Long.parseLong(m.group(1));
            }
        }
        throw new IOException("/proc/self/status has no " + field + " (peak RSS is read from Linux's /proc)");
    }

    /** Resets VmHWM to the current RSS (Linux 4.0+); false where /proc does not allow it. */
    static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}
