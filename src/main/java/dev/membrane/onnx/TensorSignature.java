package dev.membrane.onnx;

import ai.onnxruntime.OnnxJavaType;
import java.util.Arrays;

/**
 * A graph input or output as the session declares it. Dynamic dimensions are -1.
 *
 * @param name  tensor name
 * @param type  element type
 * @param shape declared shape (its length is the rank)
 */
public record TensorSignature(String name, OnnxJavaType type, long[] shape) {
    public int rank() {
        return shape.length;
    }

    public boolean isFloating() {
        return type == OnnxJavaType.FLOAT || type == OnnxJavaType.FLOAT16 || type == OnnxJavaType.BFLOAT16;
    }

    public boolean isInteger() {
        return type == OnnxJavaType.INT32 || type == OnnxJavaType.INT64;
    }

    @Override
    public String toString() {
        return name + " " + type.name().toLowerCase() + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSignature t && t.name.equals(name) && t.type == type && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
