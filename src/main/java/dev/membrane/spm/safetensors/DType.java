package dev.membrane.spm.safetensors;

import ai.onnxruntime.platform.Fp16Conversions;
import java.nio.ByteBuffer;

/** The safetensors element types Membrane reads: 32-bit float and the two 16-bit floats. */
public enum DType {
    F32(4), F16(2), BF16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public static DType parse(String s) {
        for (DType t : values()) if (t.name().equals(s)) return t;
        return null;
    }

    /** Reads {@code count} little-endian values from {@code buf} as floats. */
    float[] decode(ByteBuffer buf, int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = switch (this) {
                case F32 -> buf.getFloat();
                case F16 -> Fp16Conversions.fp16ToFloat(buf.getShort());
                case BF16 -> Fp16Conversions.bf16ToFloat(buf.getShort());
            };
        }
        return out;
    }
}
