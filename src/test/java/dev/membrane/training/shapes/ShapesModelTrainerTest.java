package dev.membrane.training.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.GenerationResult;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.testing.TinyModel;
import dev.membrane.tokenizer.ClipTokenizer;
import dev.membrane.training.TorchEngine;
import dev.membrane.world.Palette;

/** A few steps of every stage, then the folder serves like any model; a fine-tune starts from it. */
class ShapesModelTrainerTest {
    @TempDir
    Path dir;

    private static ShapesModelTrainer.Report run(Path out, ShapesRecipe recipe, Path init, StringBuilder log) {
        Engine engine = TorchEngine.start(Path.of("target", "djl-cache"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ShapesModelTrainer.Report r = ShapesModelTrainer.train(out, recipe, null, init, TinyModel.runtime(), engine,
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        log.append(bytes.toString(StandardCharsets.UTF_8));
        return r;
    }

    @Test
    void smokeRecipeWritesAServableModelDeterministically() throws Exception {
        StringBuilder log = new StringBuilder();
        Path a = dir.resolve("a");
        ShapesModelTrainer.Report first = run(a, ShapesRecipe.smoke(11), null, log);
        assertTrue(log.toString().contains("train-shapes unet [" + "#".repeat(24) + "] 3/3 100%"), log.toString());
        for (String stage : List.of("graphs", "vae", "data", "unet", "total")) assertTrue(first.stageSeconds().containsKey(stage), stage);
        // the vocabulary is learned from the captions: every caption word is one token
        ClipTokenizer tok = ClipTokenizer.load(a.resolve("tokenizer"));
        for (String word : List.of("circle", "striped", "background", "purple", "heart")) {
            int[] ids = tok.encode(word);
            assertTrue(ids[1] != tok.eosId() && ids[2] == tok.eosId(), word + " is one token");
        }
        JsonNode report = new ObjectMapper().readTree(a.resolve(ShapesModelTrainer.REPORT_FILE).toFile());
        assertEquals(11, report.path("seed").asLong());
        assertEquals(first.sha256().get("unet/model.onnx"), report.path("sha256").path("unet/model.onnx").asText());
        assertTrue(Files.size(a.resolve(ShapesModelTrainer.CURVES_FILE)) > 0);

        ModelFolder folder = ModelFolder.open(a);
        assertEquals(64, folder.imageSize(), "the trained side is recorded in model_index.json");
        try (StableDiffusionPipeline p = StableDiffusionPipeline.open(folder, folder.unet(), TinyModel.runtime())) {
            GenerationResult g = p.generate(new GenerationRequest(List.of(new ImageSpec("a red circle", "", 1)),
                    64, 64, 2, 7.5, SchedulerKind.DDIM));
            assertEquals(64, g.images().get(0).width());
        }

        // the same seed gives the same bytes; another seed does not
        ShapesModelTrainer.Report again = run(dir.resolve("b"), ShapesRecipe.smoke(11), null, log);
        assertEquals(first.sha256(), again.sha256());
        ShapesModelTrainer.Report other = run(dir.resolve("c"), ShapesRecipe.smoke(12), null, log);
        assertNotEquals(first.sha256().get("unet/model.onnx"), other.sha256().get("unet/model.onnx"));

        // a fine-tune on the deep palette keeps the VAE and text encoder and changes the UNet
        ShapesModelTrainer.Report tuned = run(dir.resolve("d"), ShapesRecipe.smoke(11).withPalette(Palette.DEEP).withSteps(0, 2).withDecoderSteps(0), a, log);
        assertEquals(first.sha256().get("vae_decoder/model.onnx"), tuned.sha256().get("vae_decoder/model.onnx"));
        assertEquals(first.sha256().get("text_encoder/model.onnx"), tuned.sha256().get("text_encoder/model.onnx"));
        assertNotEquals(first.sha256().get("unet/model.onnx"), tuned.sha256().get("unet/model.onnx"));
    }

    @Test
    void aContinuedDecoderStageIsFoldedInBesideTheFirst() throws Exception {
        StringBuilder log = new StringBuilder();
        Path model = dir.resolve("model");
        ShapesModelTrainer.Report base = run(model, ShapesRecipe.smoke(11), null, log);
        Path later = dir.resolve("later");
        ShapesModelTrainer.Report more = run(later, ShapesRecipe.smoke(11).withSteps(0, 0).withDecoderSteps(3), model, log);
        assertEquals(base.sha256().get("unet/model.onnx"), more.sha256().get("unet/model.onnx"));

        // a folder that is not a finished stage run of this model is refused, and the model is left as it was:
        // the model itself, and a stage whose report is still the copy --init starts from (a run under way or killed)
        MembraneException self = assertThrows(MembraneException.class, () -> ShapesModelTrainer.combine(model, model));
        assertTrue(self.getMessage().contains("the model itself"), self.getMessage());
        Path unfinished = dir.resolve("unfinished");
        Files.createDirectories(unfinished.resolve("training"));
        Files.copy(model.resolve(ShapesModelTrainer.REPORT_FILE), unfinished.resolve(ShapesModelTrainer.REPORT_FILE));
        MembraneException copy = assertThrows(MembraneException.class, () -> ShapesModelTrainer.combine(model, unfinished));
        assertTrue(copy.getMessage().contains("not a finished stage run") && copy.getMessage().contains("names no --init"), copy.getMessage());
        assertEquals(base.sha256(), ShapesModelTrainer.checksums(model), "a refused combine changes nothing");

        ShapesModelTrainer.Report combined = ShapesModelTrainer.combine(model, later);
        // the later decoder is the model's now; the UNet, encoder and text encoder are the first run's
        assertEquals(more.sha256().get("vae_decoder/model.onnx"), combined.sha256().get("vae_decoder/model.onnx"));
        assertNotEquals(base.sha256().get("vae_decoder/model.onnx"), combined.sha256().get("vae_decoder/model.onnx"));
        for (String f : List.of("unet/model.onnx", "text_encoder/model.onnx", ShapesModelTrainer.ENCODER_FILE)) {
            assertEquals(base.sha256().get(f), combined.sha256().get(f), f);
        }
        // both decoder stages are kept, in order, and the total is the sum of every stage's wall time
        assertEquals(base.stageSeconds().get("decoder"), combined.stageSeconds().get("decoder"));
        assertEquals(more.stageSeconds().get("decoder"), combined.stageSeconds().get("decoder-2"));
        assertEquals(base.stageSeconds().get("total") + more.stageSeconds().get("decoder"), combined.stageSeconds().get("total"), 1e-9);
        assertEquals(List.of("graphs", "vae", "data", "unet", "decoder", "decoder-2", "total"), List.copyOf(combined.stageSeconds().keySet()));
        JsonNode report = new ObjectMapper().readTree(model.resolve(ShapesModelTrainer.REPORT_FILE).toFile());
        assertEquals(2, report.path("recipe").path("decoderSteps").asInt(), "the first decoder stage's steps stay");
        JsonNode continued = report.path("recipe").path("continued").get(0);
        assertEquals("decoder-2", continued.path("stage").asText());
        assertEquals("decoder", continued.path("continues").asText());
        assertEquals(3, continued.path("steps").asInt());
        assertTrue(report.path("curves").has("decoder") && report.path("curves").has("decoder-2"));
        assertEquals(later.toString(), report.path("combinedFrom").get(0).asText());
    }

    @Test
    void aSecondUNetRoundInOneRunIsTheInitFineTuneOfTheFirstWithoutReencodingTheData() {
        StringBuilder log = new StringBuilder();
        ShapesModelTrainer.Report both = run(dir.resolve("both"), ShapesRecipe.smoke(11).withUNetRound2Steps(2), null, log);
        assertTrue(log.toString().contains("train-shapes unet-2 [" + "#".repeat(24) + "] 2/2 100%"), log.toString());
        assertEquals(List.of("graphs", "vae", "data", "unet", "unet-2", "decoder", "total"), List.copyOf(both.stageSeconds().keySet()));
        assertTrue(both.finalLoss().containsKey("unet-2"));

        // the same two rounds as two runs: the first round alone, then --init from it with the second's steps
        Path first = dir.resolve("first");
        ShapesModelTrainer.Report one = run(first, ShapesRecipe.smoke(11), null, log);
        ShapesModelTrainer.Report tuned = run(dir.resolve("tuned"), ShapesRecipe.smoke(11).withSteps(0, 2).withDecoderSteps(0), first, log);
        assertNotEquals(one.sha256().get("unet/model.onnx"), both.sha256().get("unet/model.onnx"), "the second round trained");
        assertEquals(tuned.sha256().get("unet/model.onnx"), both.sha256().get("unet/model.onnx"),
                "one run's second round starts from the first's exported average, with fresh state, as --init does");
        for (String f : List.of("vae_decoder/model.onnx", "text_encoder/model.onnx", ShapesModelTrainer.ENCODER_FILE)) {
            assertEquals(one.sha256().get(f), both.sha256().get(f), f);
        }
        assertThrows(MembraneException.class, () -> ShapesRecipe.smoke(1).withUNetRound2Steps(-1));
    }

    @Test
    void imageSidesAreMultiplesOf64SoTheUNetCanHalveItsLatentsThreeTimes() {
        assertEquals(128, ShapesRecipe.smoke(1).withImageSize(128).imageSize());
        for (int side : List.of(72, 96, 32, 576)) {
            MembraneException e = assertThrows(MembraneException.class, () -> ShapesRecipe.smoke(1).withImageSize(side));
            assertTrue(e.getMessage().contains("multiple of 64"), e.getMessage());
        }
    }
}
