package dev.membrane.safety.tfjs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;

import dev.membrane.MembraneException;

/**
 * The converter on a small Keras model that uses every supported layer, against a plain channels-last
 * implementation of each layer written here (loops over pixels, double arithmetic). Weights are stored
 * float32, uint8-quantised and float16 in one manifest, so the dequantisation is checked too.
 */
class LayersConverterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Random random = new Random(5);
    private final ArrayNode layers = JSON.createArrayNode();
    private final ArrayNode weightSpecs = JSON.createArrayNode();
    private final ByteArrayOutputStream weightBytes = new ByteArrayOutputStream();

    /** NHWC activations of one image. */
    record T(int h, int w, int c, double[] v) {
        double at(int y, int x, int ch) {
            return v[(y * w + x) * c + ch];
        }
    }

    @Test
    void everySupportedLayerMatchesTheChannelsLastReference() throws Exception {
        T input = new T(6, 6, 2, randoms(72, 1));
        layer("InputLayer", "input_1", null, cfg -> cfg.set("batch_input_shape", JSON.valueToTree(new Object[] {null, 6, 6, 2})));
        layer("ZeroPadding2D", "pad", List.of("input_1"), cfg -> cfg.set("padding", JSON.valueToTree(new int[][] {{0, 1}, {0, 1}})));
        double[] k1 = weight("conv1/kernel", new int[] {3, 3, 2, 3}, "uint8");
        double[] b1 = weight("conv1/bias", new int[] {3}, null);
        layer("Conv2D", "conv1", List.of("pad"), cfg -> cfg.put("filters", 3).put("padding", "valid").put("use_bias", true)
                .put("activation", "linear").set("strides", JSON.valueToTree(new int[] {2, 2})));
        double[] gamma = weight("bn/gamma", new int[] {3}, null), beta = weight("bn/beta", new int[] {3}, null);
        double[] mean = weight("bn/moving_mean", new int[] {3}, null), var = weight("bn/moving_variance", new int[] {3}, "positive");
        layer("BatchNormalization", "bn", List.of("conv1"), cfg -> cfg.put("axis", -1).put("epsilon", 1e-3).put("scale", true).put("center", true));
        layer("ReLU", "relu6", List.of("bn"), cfg -> cfg.put("max_value", 6.0).put("negative_slope", 0.0).put("threshold", 0.0));
        double[] dk = weight("dw/depthwise_kernel", new int[] {3, 3, 3, 2}, null);
        layer("DepthwiseConv2D", "dw", List.of("relu6"), cfg -> cfg.put("padding", "same").put("use_bias", false).put("depth_multiplier", 2)
                .put("activation", "relu"));
        double[] pk = weight("project/kernel", new int[] {1, 1, 6, 3}, "float16");
        layer("Conv2D", "project", List.of("dw"), cfg -> cfg.put("filters", 3).put("padding", "same").put("use_bias", false).put("activation", "linear"));
        layer("Add", "add", List.of("project", "relu6"), cfg -> { });
        layer("AveragePooling2D", "avg", List.of("add"), cfg -> cfg.put("padding", "same").set("pool_size", JSON.valueToTree(new int[] {3, 3})))
                .path("config");
        ((ObjectNode) layers.get(layers.size() - 1).get("config")).set("strides", JSON.valueToTree(new int[] {1, 1}));
        layer("Concatenate", "concat", List.of("avg", "add"), cfg -> cfg.put("axis", -1));
        layer("MaxPooling2D", "max", List.of("concat"), cfg -> cfg.put("padding", "valid").set("pool_size", JSON.valueToTree(new int[] {2, 2})));
        ((ObjectNode) layers.get(layers.size() - 1).get("config")).set("strides", JSON.valueToTree(new int[] {1, 1}));
        layer("Flatten", "flatten", List.of("max"), cfg -> { });
        double[] dkn = weight("dense/kernel", new int[] {24, 4}, "uint8");
        double[] dbn = weight("dense/bias", new int[] {4}, null);
        layer("Dense", "dense", List.of("flatten"), cfg -> cfg.put("units", 4).put("activation", "softmax").put("use_bias", true));
        layer("Dropout", "dropout", List.of("dense"), cfg -> cfg.put("rate", 0.5));

        // the reference, channels last
        T x = pad(input, 0, 1, 0, 1);
        x = conv(x, k1, b1, 3, 3, 3, 2, 0, 0);
        double[] bn = new double[x.v().length];
        for (int i = 0; i < bn.length; i++) {
            int ch = i % 3;
            double y = (x.v()[i] - mean[ch]) / Math.sqrt(var[ch] + 1e-3) * gamma[ch] + beta[ch];
            bn[i] = Math.min(6, Math.max(0, y));
        }
        T r6 = new T(x.h(), x.w(), 3, bn);
        T dw = relu(depthwise(r6, dk, 2));
        T proj = conv(dw, pk, null, 1, 1, 3, 1, 0, 0);
        double[] sum = new double[proj.v().length];
        for (int i = 0; i < sum.length; i++) sum[i] = proj.v()[i] + r6.v()[i];
        T add = new T(3, 3, 3, sum);
        T cat = concat(averageSame(add), add);
        T max = maxValid(cat);
        double[] logits = new double[4];
        for (int o = 0; o < 4; o++) {
            double s = dbn[o];
            for (int i = 0; i < 24; i++) s += max.v()[i] * dkn[i * 4 + o];
            logits[o] = s;
        }
        double[] expected = softmax(logits);

        LayersConverter.Converted converted = LayersConverter.convert(modelJson("dropout"), weightBytes.toByteArray(), "test");
        assertEquals(6, converted.height());
        assertEquals(4, converted.classes());
        double[] actual = run(converted, input);
        for (int i = 0; i < 4; i++) assertEquals(expected[i], actual[i], 1e-5, "score " + i);
    }

    @Test
    void anUnknownLayerIsRefusedByName() {
        layer("InputLayer", "input_1", null, cfg -> cfg.set("batch_input_shape", JSON.valueToTree(new Object[] {null, 4, 4, 3})));
        layer("SeparableConv2D", "sep", List.of("input_1"), cfg -> { });
        MembraneException e = assertThrows(MembraneException.class, () -> LayersConverter.convert(modelJson("sep"), new byte[0], "test"));
        assertTrue(e.getMessage().contains("sep has type SeparableConv2D"), e.getMessage());
    }

    @Test
    void aWeightTheTopologyDoesNotUseIsRefused() {
        layer("InputLayer", "input_1", null, cfg -> cfg.set("batch_input_shape", JSON.valueToTree(new Object[] {null, 1, 1, 3})));
        layer("Flatten", "flatten", List.of("input_1"), cfg -> { });
        weight("stray/kernel", new int[] {2}, null);
        MembraneException e = assertThrows(MembraneException.class,
                () -> LayersConverter.convert(modelJson("flatten"), weightBytes.toByteArray(), "test"));
        assertTrue(e.getMessage().contains("stray/kernel"), e.getMessage());
    }

    @Test
    void minifiedLiteralsParseAsData() {
        String js = "xx{1:[function(e,a,n){a.exports={k:!0,f:!1,n:null,x:-.5,y:1e-3,s:\"a\\\"b\",l:[1,'c',{z:2}]}},{}]}";
        JsonNode n = BundledModel.moduleValue(js.getBytes(java.nio.charset.StandardCharsets.UTF_8), "test");
        assertEquals(true, n.get("k").asBoolean());
        assertEquals(false, n.get("f").asBoolean(true));
        assertTrue(n.get("n").isNull());
        assertEquals(-0.5, n.get("x").asDouble());
        assertEquals(1e-3, n.get("y").asDouble());
        assertEquals("a\"b", n.get("s").asText());
        assertEquals("c", n.get("l").get(1).asText());
        assertEquals(2, n.get("l").get(2).get("z").asInt());
        assertThrows(MembraneException.class, () -> JsLiteral.parse("{a:alert(1)}", 0, "test"));
    }

    @Test
    void halfPrecisionDecodes() {
        assertEquals(1.0f, ai.onnxruntime.platform.Fp16Conversions.fp16ToFloat((short) 0x3c00));
        assertEquals(-2.0f, ai.onnxruntime.platform.Fp16Conversions.fp16ToFloat((short) 0xc000));
        assertEquals(5.9604645e-8f, ai.onnxruntime.platform.Fp16Conversions.fp16ToFloat((short) 0x0001));
        assertArrayEquals(new float[] {65504f}, new float[] {ai.onnxruntime.platform.Fp16Conversions.fp16ToFloat((short) 0x7bff)});
    }

    // ---- the model under construction ----

    private interface Config {
        void fill(ObjectNode cfg);
    }

    private ObjectNode layer(String type, String name, List<String> inputs, Config config) {
        ObjectNode l = layers.addObject();
        l.put("name", name).put("class_name", type);
        ObjectNode cfg = l.putObject("config");
        cfg.put("name", name).put("data_format", "channels_last");
        config.fill(cfg);
        ArrayNode nodes = l.putArray("inbound_nodes");
        if (inputs != null) {
            ArrayNode call = nodes.addArray();
            for (String in : inputs) call.addArray().add(in).add(0).add(0).addObject();
        }
        return l;
    }

    /** Random values stored as {@code stored} (null: float32; "positive": float32 above 0.1); returns what TF.js decodes. */
    private double[] weight(String name, int[] shape, String stored) {
        int n = 1;
        for (int d : shape) n *= d;
        double[] v = randoms(n, 0.5);
        if ("positive".equals(stored)) {
            for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]) + 0.1;
            stored = null;
        }
        ObjectNode spec = weightSpecs.addObject();
        spec.put("name", name).put("dtype", "float32").set("shape", JSON.valueToTree(shape));
        ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        if (stored == null) {
            for (int i = 0; i < n; i++) {
                b.putFloat((float) v[i]);
                v[i] = (float) v[i];
            }
        } else if (stored.equals("uint8")) {
            double min = -0.5, scale = 1.0 / 255;
            spec.putObject("quantization").put("dtype", "uint8").put("min", min).put("scale", scale);
            for (int i = 0; i < n; i++) {
                int q = (int) Math.round((v[i] - min) / scale);
                b.put((byte) q);
                v[i] = (float) (q * scale + min);
            }
        } else {
            spec.putObject("quantization").put("dtype", "float16");
            for (int i = 0; i < n; i++) {
                short h = toHalf((float) v[i]);
                b.putShort(h);
                v[i] = ai.onnxruntime.platform.Fp16Conversions.fp16ToFloat(h);
            }
        }
        weightBytes.write(b.array(), 0, b.position());
        return v;
    }

    private static short toHalf(float f) {
        // values here are within ±1, normal halves: round the mantissa to 10 bits
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mant = bits & 0x7fffff;
        if (exp <= 0) return (short) sign;
        return (short) (sign | (exp << 10) | (Math.round(mant / 8192f) == 1024 ? 1023 : Math.round(mant / 8192f)));
    }

    private double[] randoms(int n, double spread) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (random.nextDouble() * 2 - 1) * spread;
        return v;
    }

    private JsonNode modelJson(String output) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode mc = root.putObject("modelTopology").putObject("model_config");
        mc.put("class_name", "Model");
        ObjectNode cfg = mc.putObject("config");
        cfg.set("layers", layers);
        cfg.putArray("input_layers").addArray().add("input_1").add(0).add(0);
        cfg.putArray("output_layers").addArray().add(output).add(0).add(0);
        root.putArray("weightsManifest").addObject().set("weights", weightSpecs);
        return root;
    }

    private static double[] run(LayersConverter.Converted converted, T input) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(converted.model().toByteArray(), new OrtSession.SessionOptions())) {
            float[] in = new float[input.v().length];
            for (int i = 0; i < in.length; i++) in[i] = (float) input.v()[i];
            try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(in), new long[] {1, input.h(), input.w(), input.c()});
                 OrtSession.Result r = s.run(Map.of(LayersConverter.INPUT, t))) {
                float[][] out = (float[][]) r.get(LayersConverter.OUTPUT).orElseThrow().getValue();
                double[] d = new double[out[0].length];
                for (int i = 0; i < d.length; i++) d[i] = out[0][i];
                return d;
            }
        }
    }

    // ---- channels-last reference layers ----

    private static T pad(T x, int top, int bottom, int left, int right) {
        int h = x.h() + top + bottom, w = x.w() + left + right;
        double[] v = new double[h * w * x.c()];
        for (int y = 0; y < x.h(); y++)
            for (int i = 0; i < x.w(); i++)
                for (int c = 0; c < x.c(); c++) v[((y + top) * w + i + left) * x.c() + c] = x.at(y, i, c);
        return new T(h, w, x.c(), v);
    }

    /** Valid convolution after explicit padding (TF "same" at stride 1 pads (k-1)/2 on each side for odd k). */
    private static T conv(T x, double[] k, double[] bias, int kh, int kw, int out, int stride, int padTop, int padLeft) {
        if (kh > 1) x = pad(x, (kh - 1) / 2 * (padTop < 0 ? 1 : 0), 0, 0, 0);
        int oh = (x.h() - kh) / stride + 1, ow = (x.w() - kw) / stride + 1;
        double[] v = new double[oh * ow * out];
        for (int y = 0; y < oh; y++)
            for (int i = 0; i < ow; i++)
                for (int o = 0; o < out; o++) {
                    double s = bias == null ? 0 : bias[o];
                    for (int a = 0; a < kh; a++)
                        for (int b = 0; b < kw; b++)
                            for (int c = 0; c < x.c(); c++) s += x.at(y * stride + a, i * stride + b, c) * k[((a * kw + b) * x.c() + c) * out + o];
                    v[(y * ow + i) * out + o] = s;
                }
        return new T(oh, ow, out, v);
    }

    /** 3x3 depthwise, stride 1, "same" (one pixel of zeros on each side), output channel c·m + j. */
    private static T depthwise(T x, double[] k, int mult) {
        T p = pad(x, 1, 1, 1, 1);
        int out = x.c() * mult;
        double[] v = new double[x.h() * x.w() * out];
        for (int y = 0; y < x.h(); y++)
            for (int i = 0; i < x.w(); i++)
                for (int c = 0; c < x.c(); c++)
                    for (int j = 0; j < mult; j++) {
                        double s = 0;
                        for (int a = 0; a < 3; a++)
                            for (int b = 0; b < 3; b++) s += p.at(y + a, i + b, c) * k[((a * 3 + b) * x.c() + c) * mult + j];
                        v[(y * x.w() + i) * out + c * mult + j] = s;
                    }
        return new T(x.h(), x.w(), out, v);
    }

    private static T relu(T x) {
        double[] v = x.v().clone();
        for (int i = 0; i < v.length; i++) v[i] = Math.max(0, v[i]);
        return new T(x.h(), x.w(), x.c(), v);
    }

    /** 3x3 average, stride 1, "same": the mean over the window's pixels inside the image. */
    private static T averageSame(T x) {
        double[] v = new double[x.v().length];
        for (int y = 0; y < x.h(); y++)
            for (int i = 0; i < x.w(); i++)
                for (int c = 0; c < x.c(); c++) {
                    double s = 0;
                    int n = 0;
                    for (int a = -1; a <= 1; a++)
                        for (int b = -1; b <= 1; b++) {
                            if (y + a < 0 || y + a >= x.h() || i + b < 0 || i + b >= x.w()) continue;
                            s += x.at(y + a, i + b, c);
                            n++;
                        }
                    v[(y * x.w() + i) * x.c() + c] = s / n;
                }
        return new T(x.h(), x.w(), x.c(), v);
    }

    private static T concat(T a, T b) {
        int c = a.c() + b.c();
        double[] v = new double[a.h() * a.w() * c];
        for (int p = 0; p < a.h() * a.w(); p++) {
            for (int i = 0; i < a.c(); i++) v[p * c + i] = a.v()[p * a.c() + i];
            for (int i = 0; i < b.c(); i++) v[p * c + a.c() + i] = b.v()[p * b.c() + i];
        }
        return new T(a.h(), a.w(), c, v);
    }

    /** 2x2 max, stride 1, valid. */
    private static T maxValid(T x) {
        int oh = x.h() - 1, ow = x.w() - 1;
        double[] v = new double[oh * ow * x.c()];
        for (int y = 0; y < oh; y++)
            for (int i = 0; i < ow; i++)
                for (int c = 0; c < x.c(); c++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int a = 0; a < 2; a++) for (int b = 0; b < 2; b++) m = Math.max(m, x.at(y + a, i + b, c));
                    v[(y * ow + i) * x.c() + c] = m;
                }
        return new T(oh, ow, x.c(), v);
    }

    private static double[] softmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double d : z) max = Math.max(max, d);
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) sum += p[i] = Math.exp(z[i] - max);
        for (int i = 0; i < z.length; i++) p[i] /= sum;
        return p;
    }
}
