package dev.membrane.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.onnx.reference.ModelIoTypes;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferenceModelBuilder.UNetWeights;
import dev.membrane.onnx.reference.ReferencePreset;
import dev.membrane.testing.ModelFolders;
import dev.membrane.testing.TinyModel;

/** Loading exports of other shapes than the default one: external data, other input types, broken folders. */
class ModelLoadingTest {
    private static final GenerationRequest REQUEST = new GenerationRequest(
            List.of(new ImageSpec("a painting of a house", "", 11)), 64, 64, 5, 7.5, SchedulerKind.PNDM);

    private static byte[] generate(Path model) {
        try (StableDiffusionPipeline p = StableDiffusionPipeline.open(model, TinyModel.runtime())) {
            return p.generate(REQUEST).images().get(0).png();
        }
    }

    @Test
    void unetWithExternalDataGivesTheSameImage(@TempDir Path dir) throws Exception {
        ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(ReferencePreset.TINY).withUNetWeights(UNetWeights.EXTERNAL));
        Path weights = dir.resolve("unet/weights.pb");
        assertTrue(Files.size(weights) > 10_000_000, "weights.pb should hold the UNet's parameters");
        assertTrue(Files.size(dir.resolve("unet/model.onnx")) < 1_000_000, "model.onnx should hold the graph only");
        ModelProto proto = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("unet/model.onnx")));
        assertTrue(proto.getGraph().getInitializerList().stream()
                .anyMatch(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL));
        assertArrayEquals(generate(TinyModel.dir()), generate(dir));
    }

    @Test
    void int64IdsAndInt64TimestepsAsOptimumWritesThem(@TempDir Path dir) {
        ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(ReferencePreset.TINY)
                .withIo(new ModelIoTypes(true, ModelIoTypes.TimestepInput.INT64_BATCH, false)));
        // PNDM's timesteps are integers: int64 feeding must give the very same image
        assertArrayEquals(generate(TinyModel.dir()), generate(dir));
    }

    @Test
    void scalarFloatTimestep(@TempDir Path dir) {
        ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(ReferencePreset.TINY)
                .withIo(new ModelIoTypes(false, ModelIoTypes.TimestepInput.FLOAT_SCALAR, false)));
        assertTrue(PngPixels.maxAbsDiff(generate(TinyModel.dir()), generate(dir)) <= 1);
    }

    @Test
    void float16InputsAndOutputs(@TempDir Path dir) {
        ReferenceModelBuilder.build(dir, ReferenceModelBuilder.Options.of(ReferencePreset.TINY)
                .withIo(new ModelIoTypes(false, ModelIoTypes.TimestepInput.FLOAT_BATCH, true)));
        int diff = PngPixels.maxAbsDiff(generate(TinyModel.dir()), generate(dir));
        // half-precision rounding of latents and embeddings at every step moves pixels a little, not wholesale
        assertTrue(diff < 64, "fp16 I/O image differs by " + diff);
    }

    @Test
    void missingFilesAreNamed(@TempDir Path dir) throws Exception {
        MembraneException none = assertThrows(MembraneException.class, () -> ModelFolder.open(dir.resolve("absent")));
        assertTrue(none.getMessage().contains("absent"), none.getMessage());
        copyTiny(dir);
        Files.delete(dir.resolve("unet/model.onnx"));
        MembraneException e = assertThrows(MembraneException.class, () -> ModelFolder.open(dir));
        assertEquals(dir.resolve("unet/model.onnx") + ": missing UNet model", e.getMessage());
    }

    @Test
    void wrongModelInAPlaceIsUnsupported(@TempDir Path dir) throws Exception {
        copyTiny(dir);
        Files.copy(dir.resolve("vae_decoder/model.onnx"), dir.resolve("unet/model.onnx"), StandardCopyOption.REPLACE_EXISTING);
        MembraneException e = assertThrows(MembraneException.class, () -> StableDiffusionPipeline.open(dir, TinyModel.runtime()));
        assertTrue(e.getMessage().startsWith(dir.resolve("unet/model.onnx") + ": unsupported UNet model"), e.getMessage());
    }

    @Test
    void corruptModelFileIsNamed(@TempDir Path dir) throws Exception {
        copyTiny(dir);
        Files.write(dir.resolve("text_encoder/model.onnx"), new byte[] {1, 2, 3, 4});
        MembraneException e = assertThrows(MembraneException.class, () -> StableDiffusionPipeline.open(dir, TinyModel.runtime()));
        assertTrue(e.getMessage().startsWith(dir.resolve("text_encoder/model.onnx") + ": creating the text encoder session failed"),
                e.getMessage());
    }

    @Test
    void aRecordedTrainingSideIsTheDefaultAndAMalformedOneIsNamed(@TempDir Path dir) throws Exception {
        copyTiny(dir);
        ModelFolder plain = ModelFolder.open(dir);
        assertEquals(null, plain.imageSize());
        assertEquals(ReferencePreset.TINY.imageSize(), ReferencePreset.defaultSide(plain, 512), "no record: the preset's side");

        ModelFolder.recordImageSize(dir, 128);
        ModelFolder recorded = ModelFolder.open(dir);
        assertEquals(128, recorded.imageSize());
        assertEquals(128, ReferencePreset.defaultSide(recorded, 512));
        assertEquals("tiny", recorded.referencePreset(), "recording the side keeps the rest of the index");

        Path index = dir.resolve("model_index.json");
        Files.writeString(index, Files.readString(index).replace("\"_membrane_image_size\" : 128", "\"_membrane_image_size\" : 100"));
        MembraneException e = assertThrows(MembraneException.class, () -> ModelFolder.open(dir));
        assertEquals(index + ": _membrane_image_size must be a positive multiple of 8, got 100", e.getMessage());
    }

    private static void copyTiny(Path target) {
        ModelFolders.copy(TinyModel.dir(), target);
    }
}
