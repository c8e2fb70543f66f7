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
import picocli.CommandLine.Command;

/**
 * {@code demo} (also what {@code membrane} with no command runs): builds the tiny reference model into
 * {@code membrane.data-dir} if absent, generates one image with it and prints the summary.
 */
@Dependent
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Generate a sample image with the embedded default model (the committed shapes model, else the tiny reference model built into membrane.data-dir).")
public class DemoCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(DemoCommand.class.getName());

    @Inject
    MembraneConfig config;

    @Override
    public Integer call() throws Exception {
        EmbeddedModel embedded = EmbeddedModel.resolve(config);
        Path modelDir = embedded.folder();
        LOG.info("demo model: " + embedded.id() + " (" + modelDir + ")");
        GenerationRequest request = new GenerationRequest(List.of(new ImageSpec(embedded.demoPrompt(), "", 42)),
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
