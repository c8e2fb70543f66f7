package dev.membrane.onnx.reference;

/**
 * The input and output types a reference model declares, to mirror the exports found in the wild:
 * diffusers' script writes int32 {@code input_ids} and a float {@code timestep[batch]}; optimum writes int64 ids
 * and an int64 timestep; fp16 exports take and return float16 tensors.
 *
 * @param int64Ids        {@code input_ids} is int64 (else int32)
 * @param timestep        how the UNet takes its timestep
 * @param float16Io       float tensors in and out are float16 (the graph casts to float32 inside)
 */
public record ModelIoTypes(boolean int64Ids, TimestepInput timestep, boolean float16Io) {
    /** How a UNet declares {@code timestep}. */
    public enum TimestepInput { FLOAT_BATCH, FLOAT_SCALAR, INT64_BATCH }

    /** diffusers' ONNX conversion script: int32 ids, float timestep [batch], float32 tensors. */
    public static final ModelIoTypes DIFFUSERS = new ModelIoTypes(false, TimestepInput.FLOAT_BATCH, false);
}
