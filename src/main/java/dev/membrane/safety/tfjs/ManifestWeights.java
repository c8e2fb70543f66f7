package dev.membrane.safety.tfjs;

import ai.onnxruntime.platform.Fp16Conversions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import dev.membrane.MembraneException;

/**
 * The weights of a TF.js weights manifest, decoded to float32 as TF.js decodes them: tensors lie back to back
 * in manifest order; a quantised one stores {@code uint8}/{@code uint16} codes {@code q} and is read as
 * {@code q * scale + min} (computed in double, stored as float, as JavaScript does), a {@code float16} one as
 * half-precision floats.
 */
final class ManifestWeights {
    /** One weight: its shape (TF layout) and values, row-major. */
    record Tensor(long[] shape, float[] values) {
        int dim(int i) {
            return (int) shape[i];
        }
    }

    private ManifestWeights() {
    }

    static Map<String, Tensor> decode(JsonNode manifest, byte[] data, String source) {
        ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (JsonNode group : manifest) {
            for (JsonNode w : group.path("weights")) {
                String name = w.path("name").asText();
                String dtype = w.path("dtype").asText("float32");
                if (!dtype.equals("float32")) throw new MembraneException(source + ": weight " + name + " has dtype " + dtype + " (only float32 is supported)");
                long[] shape = new long[w.path("shape").size()];
                long n = 1;
                for (int i = 0; i < shape.length; i++) n *= shape[i] = w.path("shape").get(i).asLong();
                if (n > Integer.MAX_VALUE) throw new MembraneException(source + ": weight " + name + " is too large");
                float[] values = new float[(int) n];
                JsonNode q = w.get("quantization");
                String stored = q == null ? "float32" : q.path("dtype").asText("");
                int width = switch (stored) {
                    case "float32" -> 4;
                    case "uint16", "float16" -> 2;
                    case "uint8" -> 1;
                    default -> throw new MembraneException(source + ": weight " + name + " is quantised as '" + stored + "', which TF.js does not define");
                };
                if (buf.remaining() < n * width) throw new MembraneException(source + ": the shards end inside weight " + name);
                if ((stored.equals("uint8") || stored.equals("uint16")) && !(q.has("min") && q.has("scale"))) {
                    throw new MembraneException(source + ": weight " + name + " is quantised without min and scale");
                }
                double min = q == null ? 0 : q.path("min").asDouble();
                double scale = q == null ? 1 : q.path("scale").asDouble();
                for (int i = 0; i < n; i++) {
                    values[i] = switch (stored) {
                        case "float32" -> buf.getFloat();
                        case "uint8" -> (float) ((buf.get() & 0xff) * scale + min);
                        case "uint16" -> (float) ((buf.getShort() & 0xffff) * scale + min);
                        default -> Fp16Conversions.fp16ToFloat(buf.getShort());
                    };
                }
                if (out.put(name, new Tensor(shape, values)) != null) throw new MembraneException(source + ": weight " + name + " appears twice");
            }
        }
        if (buf.hasRemaining()) throw new MembraneException(source + ": " + buf.remaining() + " bytes of the shards belong to no weight");
        return out;
    }
}
