package dev.membrane.serving;

import java.util.List;

import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.diffusion.scheduler.Scheduler;
import dev.membrane.spm.AdapterPipeline;

/**
 * One image of a {@link PreparedRequest}, ready to join a batch.
 *
 * @param spec      prompt and seed
 * @param guidance  its guidance scale g; guided (two UNet rows) when g &gt; 1
 * @param context   its UNet rows' embeddings: [negative, positive] when guided, else [positive]
 * @param applied   its adapters with the transport's s_f, s_t and γ, in stack order
 * @param scheduler its own sampler, fresh (stateful: PNDM keeps past outputs), so it joins one batch once
 * @param noise     its initial latents [4, h, w], already scaled by the scheduler's initial sigma
 */
public record PreparedImage(ImageSpec spec, double guidance, TextEmbeddings context, List<AdapterPipeline.Applied> applied,
                            Scheduler scheduler, float[] noise) {
    public boolean guided() {
        return guidance > 1.0;
    }

    /** UNet rows per call: 2 with guidance, else 1. */
    public int rows() {
        return guided() ? 2 : 1;
    }
}
