package dev.membrane.serving;

import java.util.ArrayList;
import java.util.List;

import dev.membrane.diffusion.PngEncoder;
import dev.membrane.diffusion.StableDiffusionPipeline;

/** Decoding a request that has made its last step into its outcome. */
final class FinishedRequests {
    private FinishedRequests() {
    }

    /** Decodes every image of the request in one VAE call and PNG-encodes them; a failure fails this request only. */
    static FinishedRequest complete(StableDiffusionPipeline sd, ActiveRequest r) {
        long t0 = System.nanoTime();
        RequestSpec spec = r.request.spec();
        int n = r.samples.size();
        try {
            int latentSize = r.samples.get(0).latents().length;
            float[] latents = new float[n * latentSize];
            for (int i = 0; i < n; i++) System.arraycopy(r.samples.get(i).latents(), 0, latents, i * latentSize, latentSize);
            byte[][] rgb = sd.decoder().decode(latents, new long[] {n, 4, spec.height() / 8, spec.width() / 8}, spec.width(), spec.height());
            List<FinishedImage> images = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                PreparedImage image = r.samples.get(i).image();
                images.add(new FinishedImage(image.spec(), PngEncoder.encodeRgb(rgb[i], spec.width(), spec.height()), spec.width(),
                        spec.height(), image.applied(), r.samples.get(i).latents()));
            }
            double queueMs = (r.admittedAtNanos - r.request.preparedAtNanos()) / 1e6;
            double denoiseMs = (t0 - r.admittedAtNanos) / 1e6;
            RequestTimings timings = new RequestTimings(queueMs, r.request.textEncodeMs(), denoiseMs, (System.nanoTime() - t0) / 1e6,
                    List.copyOf(r.batchRows), List.copyOf(r.unetCallMs));
            return new FinishedRequest.Completed(r.request.id(), List.copyOf(images), timings);
        } catch (RuntimeException e) {
            return new FinishedRequest.Failed(r.request.id(), String.valueOf(e.getMessage()), e);
        }
    }
}
