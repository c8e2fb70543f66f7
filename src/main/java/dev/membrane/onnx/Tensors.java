package dev.membrane.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.platform.Fp16Conversions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

import dev.membrane.MembraneException;

/**
 * Builds input tensors over direct buffers and reads outputs back as float arrays, converting to and from the
 * element type a graph declares (float32, float16, bfloat16; int32 or int64 for ids).
 *
 * <p>Direct buffers let ONNX Runtime use the memory as it is (no copy); building a tensor from Java arrays costs
 * milliseconds per run at UNet sizes. Buffers are fresh per call: they are small next to a UNet step, and a reused
 * buffer would tie a tensor's lifetime to its next use.
 */
public final class Tensors {
    private Tensors() {
    }

    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    private static ByteBuffer direct(long elements, int bytesPerElement) {
        long bytes = elements * bytesPerElement;
        if (bytes > Integer.MAX_VALUE) throw new MembraneException("tensor of " + bytes + " bytes is too large");
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    /** A floating tensor of {@code type} (FLOAT, FLOAT16 or BFLOAT16) holding {@code data}. */
    public static OnnxTensor floating(OrtEnvironment env, float[] data, long[] shape, OnnxJavaType type) throws OrtException {
        checkCount(data.length, shape);
        switch (type) {
            case FLOAT -> {
                ByteBuffer b = direct(data.length, 4);
                b.asFloatBuffer().put(data);
                return OnnxTensor.createTensor(env, b.asFloatBuffer(), shape);
            }
            case FLOAT16, BFLOAT16 -> {
                ByteBuffer b = direct(data.length, 2);
                ShortBuffer s = b.asShortBuffer();
                boolean half = type == OnnxJavaType.FLOAT16;
                for (float v : data) s.put(half ? Fp16Conversions.floatToFp16(v) : Fp16Conversions.floatToBf16(v));
                return OnnxTensor.createTensor(env, b, shape, type);
            }
            default -> throw new MembraneException("cannot feed float data to a " + type + " input");
        }
    }

    /** An integer tensor of {@code type} (INT32 or INT64) holding {@code data}. */
    public static OnnxTensor integer(OrtEnvironment env, long[] data, long[] shape, OnnxJavaType type) throws OrtException {
        checkCount(data.length, shape);
        switch (type) {
            case INT64 -> {
                ByteBuffer b = direct(data.length, 8);
                b.asLongBuffer().put(data);
                return OnnxTensor.createTensor(env, b.asLongBuffer(), shape);
            }
            case INT32 -> {
                ByteBuffer b = direct(data.length, 4);
                var ints = b.asIntBuffer();
                for (long v : data) ints.put(Math.toIntExact(v));
                return OnnxTensor.createTensor(env, b.asIntBuffer(), shape);
            }
            default -> throw new MembraneException("cannot feed integer data to a " + type + " input");
        }
    }

    private static void checkCount(int length, long[] shape) {
        if (elementCount(shape) != length) {
            throw new MembraneException("tensor data has " + length + " elements, shape needs " + elementCount(shape));
        }
    }

    /** The values of a float32/float16/bfloat16 output tensor as floats. */
    public static float[] readFloats(OnnxValue value, String what) {
        if (!(value instanceof OnnxTensor t)) throw new MembraneException(what + " is not a tensor");
        OnnxJavaType type = t.getInfo().type;
        FloatBuffer floats = switch (type) {
            case FLOAT -> t.getFloatBuffer();
            case FLOAT16 -> Fp16Conversions.convertFp16BufferToFloatBuffer(t.getShortBuffer());
            case BFLOAT16 -> Fp16Conversions.convertBf16BufferToFloatBuffer(t.getShortBuffer());
            default -> throw new MembraneException(what + " has element type " + type + ", expected a float type");
        };
        float[] out = new float[floats.remaining()];
        floats.get(out);
        return out;
    }

    public static long[] shapeOf(OnnxValue value) {
        return ((OnnxTensor) value).getInfo().getShape();
    }
}
