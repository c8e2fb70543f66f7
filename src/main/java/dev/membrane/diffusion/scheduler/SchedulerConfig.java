package dev.membrane.diffusion.scheduler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.membrane.MembraneException;

/**
 * The fields of a diffusers {@code scheduler_config.json} that the samplers use. Whatever class the file names,
 * every sampler reads its noise schedule from it, as diffusers' {@code Scheduler.from_config} does.
 *
 * @param className        {@code _class_name}, e.g. {@code PNDMScheduler}
 * @param numTrainTimesteps {@code num_train_timesteps} (1000 on SD 1.x)
 * @param betaStart        {@code beta_start}
 * @param betaEnd          {@code beta_end}
 * @param betaSchedule     {@code linear} or {@code scaled_linear}
 * @param predictionType   {@code epsilon}, {@code v_prediction} or {@code sample}
 * @param timestepSpacing  {@code leading}, {@code linspace} or {@code trailing}
 * @param stepsOffset      {@code steps_offset}, added to leading timesteps
 * @param setAlphaToOne    {@code set_alpha_to_one}: the "previous" alpha at the last step is 1, else alphas_cumprod[0]
 * @param skipPrkSteps     {@code skip_prk_steps}: PNDM runs PLMS only (the SD default)
 * @param clipSample       {@code clip_sample}: DDIM clips x0 to [-clipSampleRange, clipSampleRange]
 * @param clipSampleRange  {@code clip_sample_range}
 */
public record SchedulerConfig(String className, int numTrainTimesteps, double betaStart, double betaEnd,
                              String betaSchedule, String predictionType, String timestepSpacing, int stepsOffset,
                              boolean setAlphaToOne, boolean skipPrkSteps, boolean clipSample, double clipSampleRange) {

    /** The SD 1.5 export's configuration (PNDM, scaled_linear 0.00085..0.012, leading spacing, offset 1). */
    public static SchedulerConfig sd15Default() {
        return new SchedulerConfig("PNDMScheduler", 1000, 0.00085, 0.012, "scaled_linear", "epsilon", "leading", 1,
                false, true, false, 1.0);
    }

    public static SchedulerConfig load(Path file) {
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new MembraneException(file + ": missing scheduler configuration");
        } catch (IOException e) {
            throw new MembraneException(file + ": not valid JSON (" + e.getMessage() + ")");
        }
        if (!n.isObject()) throw new MembraneException(file + ": not a JSON object");
        SchedulerConfig c = new SchedulerConfig(
                n.path("_class_name").asText("PNDMScheduler"),
                n.path("num_train_timesteps").asInt(1000),
                n.path("beta_start").asDouble(0.0001),
                n.path("beta_end").asDouble(0.02),
                n.path("beta_schedule").asText("linear"),
                n.path("prediction_type").asText("epsilon"),
                n.path("timestep_spacing").asText("leading"),
                n.path("steps_offset").asInt(0),
                n.path("set_alpha_to_one").asBoolean(false),
                n.path("skip_prk_steps").asBoolean(true),
                n.path("clip_sample").asBoolean(false),
                n.path("clip_sample_range").asDouble(1.0));
        if (n.hasNonNull("trained_betas")) {
            throw new MembraneException(file + ": trained_betas is not supported; use beta_start/beta_end");
        }
        c.validate(file.toString());
        return c;
    }

    void validate(String source) {
        if (numTrainTimesteps < 2) throw new MembraneException(source + ": num_train_timesteps must be at least 2");
        if (!betaSchedule.equals("linear") && !betaSchedule.equals("scaled_linear")) {
            throw new MembraneException(source + ": beta_schedule '" + betaSchedule + "' is not supported (linear, scaled_linear)");
        }
        if (!predictionType.equals("epsilon") && !predictionType.equals("v_prediction") && !predictionType.equals("sample")) {
            throw new MembraneException(source + ": prediction_type '" + predictionType + "' is not supported");
        }
        TimestepSpacing.parse(timestepSpacing, source);
    }
}
