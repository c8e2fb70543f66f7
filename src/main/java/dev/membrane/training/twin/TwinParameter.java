package dev.membrane.training.twin;

import ai.djl.ndarray.NDArray;

/**
 * A learnable tensor of a twin and the ONNX initializer it came from.
 *
 * @param initializer the initializer's name in the graph
 * @param array       the values as the twin computes with them
 * @param transposed  whether {@code array} is the initializer's 2-D transpose (a Gemm weight with transB)
 */
public record TwinParameter(String initializer, NDArray array, boolean transposed) {

    /** The values in the initializer's own layout. */
    public float[] initializerValues() {
        float[] v = array.toFloatArray();
        if (!transposed) return v;
        long[] s = array.getShape().getShape();
        return TwinLayers.transpose(v, (int) s[0], (int) s[1]);
    }

    /** The transpose of a row-major {@code rows x cols} matrix. */
    public static float[] transpose(float[] values, int rows, int cols) {
        return TwinLayers.transpose(values, rows, cols);
    }
}
