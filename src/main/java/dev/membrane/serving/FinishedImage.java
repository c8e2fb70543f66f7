package dev.membrane.serving;

import java.util.List;

import dev.membrane.diffusion.ImageSpec;
import dev.membrane.spm.AdapterPipeline;

/**
 * One generated image.
 *
 * @param spec    prompt and seed it was made from
 * @param png     the PNG
 * @param width   pixels
 * @param height  pixels
 * @param applied its adapters with s_f, s_t and γ
 * @param latents its final latents [4, h, w] before decoding (for equivalence checks)
 */
public record FinishedImage(ImageSpec spec, byte[] png, int width, int height, List<AdapterPipeline.Applied> applied,
                            float[] latents) {
}
