package dev.membrane.spm;

/**
 * One layer of the UNet that an SPM adapter addresses: a Linear (MatMul with a transposed weight {@code [in, out]})
 * or a 1x1 Conv ({@code proj_in}/{@code proj_out}, weight {@code [out, in, 1, 1]}) inside a Transformer2DModel.
 *
 * @param key        the SPM key prefix, {@code lora_unet_<module path with '.' → '_'>}
 * @param module     the diffusers module path, e.g. {@code down_blocks.0.attentions.0.proj_in}
 * @param kind       MatMul or Conv
 * @param nodeName   the graph node
 * @param weightName the node's weight initializer
 * @param in         input features
 * @param out        output features
 */
public record AdapterSite(String key, String module, Kind kind, String nodeName, String weightName, int in, int out) {
    /** How the layer is written in the graph. */
    public enum Kind { MATMUL, CONV }

    /** Shape of {@code lora_down.weight} at rank r. */
    public long[] downShape(int rank) {
        return kind == Kind.CONV ? new long[] {rank, in, 1, 1} : new long[] {rank, in};
    }

    /** Shape of {@code lora_up.weight} at rank r. */
    public long[] upShape(int rank) {
        return kind == Kind.CONV ? new long[] {out, rank, 1, 1} : new long[] {out, rank};
    }
}
