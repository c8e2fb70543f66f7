package dev.membrane.training;

import java.nio.file.Path;

import dev.membrane.MembraneException;
import dev.membrane.onnx.OrtRuntime;

/**
 * The served, prepared UNet ({@code unet/model.spm.onnx}) a trainer may sample its no-grad trajectory with.
 *
 * @param runtime  the ONNX Runtime environment
 * @param prepared the prepared graph (slots at least the trained rank)
 */
public record ServedUNet(OrtRuntime runtime, Path prepared) {
    ServedTrajectory trajectory(TwinSampler sampler, Conditioning conditioning, TrainingSpec spec) {
        ServedTrajectory t = new ServedTrajectory(runtime, prepared, sampler, conditioning, spec.latentSide());
        if (t.slots() < spec.rank()) {
            t.close();
            throw new MembraneException(prepared + ": " + t.slots() + " slots, but a rank-" + spec.rank() + " SPM needs " + spec.rank());
        }
        return t;
    }
}
