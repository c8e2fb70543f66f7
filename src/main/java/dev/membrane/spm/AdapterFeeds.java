package dev.membrane.spm;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.util.HashMap;
import java.util.Map;

import dev.membrane.onnx.Tensors;

/** Turns {@link AdapterSlots} into the prepared UNet's input tensors (the caller closes them). */
public final class AdapterFeeds {
    private AdapterFeeds() {
    }

    public static Map<String, OnnxTensor> tensors(OrtEnvironment env, SlotLayout layout, AdapterSlots slots) throws OrtException {
        OnnxJavaType type = layout.elementType().equals("float16") ? OnnxJavaType.FLOAT16 : OnnxJavaType.FLOAT;
        long b = slots.batch();
        int k = layout.slots();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            if (layout.linearIn() > 0) {
                feeds.put(SlotLayout.LINEAR_DOWN, Tensors.floating(env, slots.linearDown(), new long[] {b, layout.linearIn(), k}, type));
                feeds.put(SlotLayout.LINEAR_UP, Tensors.floating(env, slots.linearUp(), new long[] {b, k, layout.linearOut()}, type));
            }
            if (layout.hasConvSites()) {
                feeds.put(SlotLayout.CONV_DOWN, Tensors.floating(env, slots.convDown(), new long[] {b, k, layout.convIn()}, type));
                feeds.put(SlotLayout.CONV_UP, Tensors.floating(env, slots.convUp(), new long[] {b, layout.convOut(), k}, type));
            }
            return feeds;
        } catch (OrtException | RuntimeException e) {
            feeds.values().forEach(OnnxTensor::close);
            throw e;
        }
    }
}
