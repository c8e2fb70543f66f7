package dev.membrane.spm;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The independent reference for adapter tests: ΔW per site computed in double from the stacking formulas, folded
 * into a copy of the base UNet's initializers (MatMul weights are Wᵀ [in, out], Conv weights [out, in, 1, 1]).
 */
final class MergedWeights {
    private MergedWeights() {
    }

    /** ΔW [out][in] for a stack, by the paper's sum (linear) or the official factor sums. */
    static double[][] delta(AdapterSite site, List<AppliedAdapter> stack, StackingMode mode) {
        double[][] d = new double[site.out()][site.in()];
        if (mode == StackingMode.LINEAR) {
            for (AppliedAdapter a : stack) {
                SpmModule m = a.file().modules().get(site.key());
                if (m == null) continue;
                for (int o = 0; o < site.out(); o++)
                    for (int i = 0; i < site.in(); i++)
                        for (int r = 0; r < m.rank(); r++)
                            d[o][i] += a.gamma() * m.scale() * m.up()[o * m.rank() + r] * m.down()[r * site.in() + i];
            }
            return d;
        }
        int rank = stack.get(0).file().rank();
        double scale = stack.get(0).file().alpha() / (double) rank;
        double[][] u = new double[site.out()][rank];
        double[][] dn = new double[rank][site.in()];
        for (AppliedAdapter a : stack) {
            SpmModule m = a.file().modules().get(site.key());
            if (m == null) continue;
            for (int o = 0; o < site.out(); o++) for (int r = 0; r < rank; r++) u[o][r] += a.gamma() * m.up()[o * rank + r];
            for (int r = 0; r < rank; r++) for (int i = 0; i < site.in(); i++) dn[r][i] += a.gamma() * m.down()[r * site.in() + i];
        }
        for (int o = 0; o < site.out(); o++)
            for (int i = 0; i < site.in(); i++)
                for (int r = 0; r < rank; r++) d[o][i] += scale * u[o][r] * dn[r][i];
        return d;
    }

    /** Writes the base model with every site's ΔW folded in (inline weights only). */
    static void write(Path baseUnet, List<AdapterSite> sites, List<AppliedAdapter> stack, StackingMode mode, Path out) throws IOException {
        ModelProto model = UNetPreparer.readModel(baseUnet);
        GraphProto.Builder g = model.getGraph().toBuilder();
        for (int t = 0; t < g.getInitializerCount(); t++) {
            TensorProto init = g.getInitializer(t);
            for (AdapterSite s : sites) {
                if (!s.weightName().equals(init.getName())) continue;
                FloatBuffer fb = init.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                float[] w = new float[fb.remaining()];
                fb.get(w);
                double[][] d = delta(s, stack, mode);
                for (int o = 0; o < s.out(); o++) {
                    for (int i = 0; i < s.in(); i++) {
                        int idx = s.kind() == AdapterSite.Kind.MATMUL ? i * s.out() + o : o * s.in() + i;
                        w[idx] = (float) (w[idx] + d[o][i]);
                    }
                }
                ByteBuffer b = ByteBuffer.allocate(w.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(w);
                g.setInitializer(t, init.toBuilder().setRawData(ByteString.copyFrom(b)));
            }
        }
        try (OutputStream os = Files.newOutputStream(out)) {
            model.toBuilder().setGraph(g).build().writeTo(os);
        }
    }

}
