package dev.membrane.onnx.graph;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import dev.membrane.MembraneException;

/**
 * Writes new values into a model's float initializers by name, leaving the graph as it is: how a network trained
 * outside ONNX (the shapes model, on DJL) is exported through the graph the reference builder wrote for it.
 */
public final class InitializerValues {
    private InitializerValues() {
    }

    /**
     * Replaces, in {@code model}, each initializer named in {@code values} (which must all exist, inline, with the
     * same element count), keeping its data type (float or float16).
     */
    public static ModelProto replace(ModelProto model, Map<String, float[]> values, String source) {
        GraphProto.Builder graph = model.getGraph().toBuilder();
        Set<String> done = new HashSet<>();
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            TensorProto t = graph.getInitializer(i);
            float[] v = values.get(t.getName());
            if (v == null) continue;
            long count = 1;
            for (long d : t.getDimsList()) count *= d;
            if (count != v.length) {
                throw new MembraneException(source + ": initializer " + t.getName() + " holds " + count + " values, not " + v.length);
            }
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                throw new MembraneException(source + ": initializer " + t.getName() + " is external data; rewrite inline models only");
            }
            boolean f16 = t.getDataType() == TensorProto.DataType.FLOAT16.getNumber();
            if (!f16 && t.getDataType() != TensorProto.DataType.FLOAT.getNumber()) {
                throw new MembraneException(source + ": initializer " + t.getName() + " is not float or float16");
            }
            ByteBuffer b = ByteBuffer.allocate(v.length * (f16 ? 2 : 4)).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : v) {
                if (f16) b.putShort(Fp16Conversions.floatToFp16(x));
                else b.putFloat(x);
            }
            b.flip();
            graph.setInitializer(i, t.toBuilder().clearFloatData().clearInt32Data().setRawData(ByteString.copyFrom(b)).build());
            done.add(t.getName());
        }
        for (String name : values.keySet()) {
            if (!done.contains(name)) throw new MembraneException(source + ": no initializer " + name);
        }
        return model.toBuilder().setGraph(graph).build();
    }

    /** {@link #replace} on a model file, in place. */
    public static void replace(Path file, Map<String, float[]> values) {
        GraphBuilder.write(replace(GraphBuilder.read(file), values, file.toString()), file);
    }
}
