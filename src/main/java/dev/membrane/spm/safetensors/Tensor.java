package dev.membrane.spm.safetensors;

import java.util.Arrays;

/**
 * A tensor read from or written to a safetensors file, values widened to float.
 *
 * @param dtype  the stored element type
 * @param shape  dimensions ({@code []} for a scalar)
 * @param values row-major values
 */
public record Tensor(DType dtype, long[] shape, float[] values) {
    public Tensor {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != values.length) throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
    }

    public static Tensor f32(float[] values, long... shape) {
        return new Tensor(DType.F32, shape, values);
    }

    public static Tensor scalar(float v) {
        return new Tensor(DType.F32, new long[0], new float[] {v});
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && t.dtype == dtype && Arrays.equals(t.shape, shape) && Arrays.equals(t.values, values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
