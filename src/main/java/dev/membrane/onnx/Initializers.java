package dev.membrane.onnx;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.platform.Fp16Conversions;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import dev.membrane.MembraneException;

/** Reads an initializer's values as floats, wherever they are stored: raw bytes, float_data, or external data. */
public final class Initializers {
    private Initializers() {
    }

    /** @param modelDir the folder of the model file, against which external data locations resolve */
    public static float[] floats(TensorProto t, Path modelDir) {
        long count = 1;
        for (long d : t.getDimsList()) count *= d;
        int type = t.getDataType();
        boolean f32 = type == TensorProto.DataType.FLOAT.getNumber();
        boolean f16 = type == TensorProto.DataType.FLOAT16.getNumber();
        if (!f32 && !f16) throw new MembraneException("initializer " + t.getName() + " has ONNX type " + type + ", not float or float16");
        if (f32 && t.getFloatDataCount() > 0) {
            float[] out = new float[t.getFloatDataCount()];
            for (int i = 0; i < out.length; i++) out[i] = t.getFloatData(i);
            return out;
        }
        ByteBuffer bytes;
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            bytes = external(t, modelDir, count * (f32 ? 4 : 2));
        } else if (!t.getRawData().isEmpty()) {
            bytes = t.getRawData().asReadOnlyByteBuffer();
        } else if (f16 && t.getInt32DataCount() > 0) {
            float[] out = new float[t.getInt32DataCount()];
            for (int i = 0; i < out.length; i++) out[i] = Fp16Conversions.fp16ToFloat((short) t.getInt32Data(i));
            return out;
        } else {
            throw new MembraneException("initializer " + t.getName() + " has no data");
        }
        bytes = bytes.order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) count];
        for (int i = 0; i < out.length; i++) out[i] = f32 ? bytes.getFloat() : Fp16Conversions.fp16ToFloat(bytes.getShort());
        return out;
    }

    private static ByteBuffer external(TensorProto t, Path modelDir, long expected) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = Long.parseLong(e.getValue());
                case "length" -> length = Long.parseLong(e.getValue());
                default -> { }
            }
        }
        if (location == null) throw new MembraneException("initializer " + t.getName() + " has external data without a location");
        Path file = modelDir.resolve(location);
        if (length < 0) length = expected;
        if (length != expected) throw new MembraneException(file + ": initializer " + t.getName() + " has " + length + " bytes, expected " + expected);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            if (offset + length > f.length()) {
                throw new MembraneException(file + ": initializer " + t.getName() + " [" + offset + ", " + (offset + length)
                        + ") lies past the file's " + f.length() + " bytes");
            }
            byte[] buf = new byte[(int) length];
            f.seek(offset);
            f.readFully(buf);
            return ByteBuffer.wrap(buf);
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot read external data (" + e.getMessage() + ")");
        }
    }
}
