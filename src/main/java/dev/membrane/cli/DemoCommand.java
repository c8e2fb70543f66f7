package dev.membrane.cli;

import jakarta.enterprise.context.Dependent;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.logging.Logger;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.GenerationResult;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferencePreset;
import picocli.CommandLine.Command;

/**
 * {@code demo} (also what {@code membrane} with no command runs): builds the tiny reference model into
 * {@code membrane.data-dir} if absent, generates one image with it and prints the summary.
 */
@Dependent
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Build the tiny reference model into membrane.data-dir if needed and generate a sample image.")
public class DemoCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(DemoCommand.class.getName());

    @Inject
    MembraneConfig config;

    @Override
    public Integer call() throws Exception {
        Path modelDir = config.dataDir().resolve("models/tiny");
        if (!Files.exists(modelDir.resolve("model_index.json"))) {
            LOG.info("building the tiny reference model into " + modelDir);
            ReferenceModelBuilder.build(modelDir, ReferenceModelBuilder.Options.of(ReferencePreset.TINY), LOG::info);
        }
        GenerationRequest request = new GenerationRequest(List.of(new ImageSpec("a photo of a cat", "", 42)),
                64, 64, 25, 7.5, SchedulerKind.PNDM);
        Path out = config.dataDir().resolve("demo.png");
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(modelDir, OrtRuntime.create(config.runtimeConfig()))) {
            GenerationResult result = pipeline.generate(request);
            Files.write(out, result.images().get(0).png());
            System.out.println(Json.line(GenerateCommand.summary(request, result, List.of(out), pipeline)));
        }
        return 0;
    }
}
