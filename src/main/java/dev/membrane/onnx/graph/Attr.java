package dev.membrane.onnx.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.AttributeProto.AttributeType;
import com.google.protobuf.ByteString;

/** Node attributes, built the way the ONNX helper functions build them. */
public final class Attr {
    private Attr() {
    }

    public static AttributeProto i(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(value).build();
    }

    public static AttributeProto f(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOAT).setF(value).build();
    }

    public static AttributeProto s(String name, String value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(value)).build();
    }

    public static AttributeProto ints(String name, long... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (long v : values) b.addInts(v);
        return b.build();
    }
}
