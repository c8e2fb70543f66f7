package dev.membrane.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferencePreset;

/**
 * The model {@code serve} and {@code demo} use when none is configured: the committed shapes model, whose concepts
 * are real (a circle prompt draws a circle, and its SPM erases it), else the tiny reference model with random
 * weights, built under the data directory on first use.
 *
 * @param id     {@code shapes} or {@code tiny}
 * @param folder the model folder
 */
record EmbeddedModel(String id, Path folder) {
    private static final Logger LOG = Logger.getLogger(EmbeddedModel.class.getName());

    static EmbeddedModel resolve(MembraneConfig config) {
        Path shapes = config.embeddedModel();
        if (Files.isRegularFile(shapes.resolve("model_index.json"))) return new EmbeddedModel("shapes", shapes);
        Path tiny = config.dataDir().resolve("models/tiny");
        if (!Files.exists(tiny.resolve("model_index.json"))) {
            LOG.info(shapes + " is absent; building the tiny reference model (random weights) into " + tiny);
            ReferenceModelBuilder.build(tiny, ReferenceModelBuilder.Options.of(ReferencePreset.TINY), LOG::info);
        }
        return new EmbeddedModel("tiny", tiny);
    }

    boolean isShapes() {
        return id.equals("shapes");
    }

    /** What the demo draws. */
    String demoPrompt() {
        return isShapes() ? "a red circle on a white background" : "a photo of a cat";
    }
}
