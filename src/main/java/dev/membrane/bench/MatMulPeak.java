package dev.membrane.bench;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import dev.membrane.onnx.ModelSession;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.Tensors;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.onnx.graph.WeightStore;

/** The machine's float32 matrix-multiply rate through the same ONNX Runtime: one [n, n] × [n, n] MatMul. */
public final class MatMulPeak {
    private MatMulPeak() {
    }

    /** The best median GFLOP/s over square MatMuls of side n/2 and n (a lone op is a floor, not a true peak). */
    public static Stats measure(OrtRuntime runtime, int n, int reps) {
        Stats half = measureSide(runtime, n / 2, reps);
        Stats full = measureSide(runtime, n, reps);
        return half.median() > full.median() ? half : full;
    }

    /** Writes the one-node graph c = a × b over [n, n] float inputs "a" and "b" to {@code file}. */
    public static void writeModel(Path file, int n) {
        GraphBuilder g = new GraphBuilder("matmul", WeightStore.inline());
        g.input("a", DataType.FLOAT, (long) n, (long) n);
        g.input("b", DataType.FLOAT, (long) n, (long) n);
        g.nodeNamed("MatMul", "/MatMul", List.of("a", "b"), List.of("c"));
        g.output("c", DataType.FLOAT, (long) n, (long) n);
        GraphBuilder.write(g.build("membrane-bench"), file);
    }

    /** GFLOP/s of one [n, n] × [n, n] MatMul, the median of {@code reps} runs after warm-up. */
    static Stats measureSide(OrtRuntime runtime, int n, int reps) {
        try {
            Path file = Files.createTempFile("membrane-matmul-", ".onnx");
            writeModel(file, n);
            Random r = new Random(1);
            float[] a = new float[n * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
            List<Double> gflops = new ArrayList<>();
            try (ModelSession s = runtime.open(file, "matmul")) {
                for (int rep = -2; rep < reps; rep++) {
                    double ms = OrtErrors.call(file, "matmul", () -> {
                        try (OnnxTensor x = Tensors.floating(s.environment(), a, new long[] {n, n}, ai.onnxruntime.OnnxJavaType.FLOAT);
                             OnnxTensor y = Tensors.floating(s.environment(), a, new long[] {n, n}, ai.onnxruntime.OnnxJavaType.FLOAT)) {
                            long t0 = System.nanoTime();
                            try (OrtSession.Result out = s.run(Map.of("a", x, "b", y))) {
                                return (System.nanoTime() - t0) / 1e6;
                            }
                        }
                    });
                    if (rep >= 0) gflops.add(2.0 * n * n * (double) n / (ms / 1e3) / 1e9);
                }
            } finally {
                Files.deleteIfExists(file);
            }
            return Stats.of(gflops);
        } catch (IOException e) {
            throw new dev.membrane.MembraneException("matmul benchmark: " + e.getMessage());
        }
    }
}
