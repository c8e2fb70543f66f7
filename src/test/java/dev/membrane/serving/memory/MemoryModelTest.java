package dev.membrane.serving.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferenceModelBuilder.UNetWeights;
import dev.membrane.onnx.reference.ReferencePreset;
import dev.membrane.testing.TinyModel;

/** The estimator's shapes read off real graphs, and its terms against hand-computed values. */
class MemoryModelTest {
    private static final double KU = MemoryModel.UNET_SURROUNDING;
    private static final double KV = MemoryModel.VAE_SURROUNDING;
    /** Scores and Softmax output, with the calibrated allowance. */
    private static final double A = MemoryModel.ATTENTION_COPIES;

    /** SD 1.5's UNet and VAE decoder (diffusers' configs), fp32. */
    static final UNetShape SD15_UNET = new UNetShape(List.of(320, 640, 1280, 1280), List.of(true, true, true, false), 8, 77, 768, 4);
    static final VaeShape SD15_VAE = new VaeShape(512, true, List.of(512, 512, 256, 128), List.of(true, true, true, false), 4);
    static final MemoryModel SD15 = new MemoryModel(SD15_UNET, SD15_VAE, 0);

    @Test
    void readsTheTinyPresetsShapesOffItsGraphs() {
        MemoryModel m = MemoryModel.of(ModelFolder.open(TinyModel.dir()));
        ReferencePreset p = ReferencePreset.TINY;
        assertEquals(new UNetShape(List.of(32, 64, 64, 64), List.of(true, true, true, false), p.unetHeads(), 77, p.textWidth(), 4),
                m.unetShape());
        // the reference decoder has no mid-block attention; its up blocks are vaeChannels, the first three upsampling
        assertEquals(new VaeShape(32, false, List.of(32, 32, 16, 16), List.of(true, true, true, false), 4), m.vaeShape());
    }

    @Test
    void weightBytesAreTheModelFilesIncludingExternalData(@TempDir Path dir) throws Exception {
        ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(ReferencePreset.TINY).withUNetWeights(UNetWeights.EXTERNAL));
        long files = Files.size(dir.resolve("text_encoder/model.onnx")) + Files.size(dir.resolve("unet/model.onnx"))
                + Files.size(dir.resolve("unet/weights.pb")) + Files.size(dir.resolve("vae_decoder/model.onnx"));
        MemoryModel m = MemoryModel.of(ModelFolder.open(dir));
        assertEquals(files, m.weightBytes());
        assertEquals(MemoryModel.of(ModelFolder.open(TinyModel.dir())).unetShape(), m.unetShape(), "external data changes no shape");
    }

    @Test
    void tinyUNetTermByHand() {
        MemoryModel m = MemoryModel.of(ModelFolder.open(TinyModel.dir()));
        // 64x64: latent 8x8, levels of 64, 16, 4, 1 pixels; 2 heads; 77 context tokens exceed 64 pixels
        double level0 = A * 2 * 64 * 77 + KU * 32 * 64;
        double level1 = A * 2 * 16 * 77 + KU * 64 * 16 + 3 * 32 * 64;
        assertTrue(level0 > level1);
        assertEquals((long) Math.ceil(2 * 4 * level0), m.estimate(64, 64, 2, 1).unetBytes());
        // 256x256: latent 32x32 = 1024 pixels, self-attention now wider than cross-attention
        assertEquals((long) Math.ceil(4 * 4 * (A * 2 * 1024 * 1024 + KU * 32 * 1024)), m.estimate(256, 256, 4, 2).unetBytes());
    }

    @Test
    void tinyVaeTermByHand() {
        MemoryModel m = MemoryModel.of(ModelFolder.open(TinyModel.dir()));
        // 256x256, latent 32x32: the widest stage is up block 2's upsampler conv: 16 channels at full resolution
        // (block 1's upsampler: 32 channels at a quarter of it is 32 · 128² = 16 · 256² too)
        double widest = 16.0 * 256 * 256;
        assertEquals((long) Math.ceil(2 * 4 * KV * widest), m.estimate(256, 256, 4, 2).vaeBytes());
        assertEquals(2L * 3 * 256 * 256 * (4 + 4 + 1), m.estimate(256, 256, 4, 2).pixelBytes());
    }

    @Test
    void sd15TermsByHand() {
        // 512x512: latent 64x64 = 4096 pixels; the first level's self-attention: 8 heads · 4096² scores, twice
        double level0 = A * 8 * 4096 * 4096 + KU * 320 * 4096;
        MemoryEstimate e = SD15.estimate(512, 512, 2, 1);
        assertEquals((long) Math.ceil(2 * 4 * level0), e.unetBytes());
        // decoder: up block 2's upsampler runs 256 channels at 512² (67.1 M values); mid attention is 2 · 4096²
        double convs = KV * 256 * 512 * 512;
        double attention = A * 4096 * 4096 + KV * 512 * 4096;
        assertEquals((long) Math.ceil(4 * Math.max(convs, attention)), e.vaeBytes());
        // 1024x1024: one guided image's first-level scores alone are 2 rows · 8 heads · 16384² · 4 B = 16 GiB, twice
        assertTrue(SD15.estimate(1024, 1024, 2, 1).unetBytes() > 32L << 30);
    }

    @Test
    void growsWithSizeAndRows() {
        long previous = 0;
        for (int side = 64; side <= 1024; side += 64) {
            long p = SD15.peakBytes(side, side, 2, 1);
            assertTrue(p > previous, side + ": " + p + " after " + previous);
            previous = p;
        }
        for (int side : new int[] {64, 256, 512, 768}) {
            long prev = 0;
            for (int rows = 1; rows <= 8; rows++) {
                long p = SD15.peakBytes(side, side, rows, (rows + 1) / 2);
                assertTrue(p > prev, side + "² rows " + rows);
                prev = p;
            }
        }
        assertTrue(SD15.peakBytes(640, 512, 2, 1) > SD15.peakBytes(512, 512, 2, 1), "non-square sizes grow too");
    }

    @Test
    void fp16HalvesTheActivations() {
        MemoryModel fp16 = new MemoryModel(
                new UNetShape(SD15_UNET.blockChannels(), SD15_UNET.attention(), 8, 77, 768, 2),
                new VaeShape(512, true, SD15_VAE.upChannels(), SD15_VAE.upsamples(), 2), 0);
        for (int side : new int[] {256, 512, 1024}) {
            MemoryEstimate full = SD15.estimate(side, side, 4, 2);
            MemoryEstimate half = fp16.estimate(side, side, 4, 2);
            assertEquals(full.unetBytes() / 2.0, half.unetBytes(), 1, side + " UNet");
            assertEquals(full.vaeBytes() / 2.0, half.vaeBytes(), 1, side + " VAE");
        }
    }
}
