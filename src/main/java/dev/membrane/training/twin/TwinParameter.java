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

    /** The array's current values in the initializer's own layout. */
    public float[] initializerValues() {
        return inInitializerLayout(array.toFloatArray());
    }

    /** {@code values} laid out as the array is (e.g. a moving average of it), in the initializer's layout. */
    public float[] inInitializerLayout(float[] values) {
        if (!transposed) return values;
        long[] s = array.getShape().getShape();
        return TwinLayers.transpose(values, (int) s[0], (int) s[1]);
    }
}
