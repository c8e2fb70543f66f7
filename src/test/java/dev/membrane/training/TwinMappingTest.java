package dev.membrane.training;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;
import dev.membrane.onnx.Initializers;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.spm.UNetPreparer;
import dev.membrane.testing.TinyModel;
import dev.membrane.training.twin.SiteAdapters;
import dev.membrane.training.twin.UNetTwin;

/** What the twin accepts (fp16 weights on disk) and what it refuses, naming the node at fault. */
class TwinMappingTest {
    private static final String TO_Q = "/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul";
    @TempDir
    static Path dir;
    private static NDManager manager;
    private static Engine engine;
    private static ModelProto tiny;

    @BeforeAll
    static void setUp() {
        engine = TorchEngine.start(Path.of("target", "djl-cache"));
        manager = NDManager.newBaseManager();
        tiny = UNetPreparer.readModel(TinyModel.dir().resolve("unet/model.onnx"));
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    private static Path write(String name, ModelProto model) throws Exception {
        Path p = dir.resolve(name + "/unet/model.onnx");
        Files.createDirectories(p.getParent());
        GraphBuilder.write(model, p);
        return p;
    }

    @Test
    void aFusedAttentionIsRefusedNamingTheNodeTheTwinNeeds() throws Exception {
        var g = tiny.getGraph().toBuilder();
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getName().equals(TO_Q)) g.setNode(i, g.getNode(i).toBuilder().setName("/fused/Attention_0"));
        }
        Path p = write("fused", tiny.toBuilder().setGraph(g).build());
        MembraneException e = assertThrows(MembraneException.class, () -> UNetTwin.load(p, manager));
        assertTrue(e.getMessage().contains(TO_Q) && e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void aLayerOutsideSd1xIsRefusedNamingIt() throws Exception {
        var g = tiny.getGraph().toBuilder();
        float[] w = new float[16];
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : w) b.putFloat(v);
        g.addInitializer(TensorProto.newBuilder().setName("extra.weight").setDataType(TensorProto.DataType.FLOAT.getNumber())
                .addDims(4).addDims(4).setRawData(ByteString.copyFrom(b.array())));
        g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("/extra_head/MatMul").addInput("sample").addInput("extra.weight")
                .addOutput("extra_out"));
        Path p = write("extra", tiny.toBuilder().setGraph(g).build());
        MembraneException e = assertThrows(MembraneException.class, () -> UNetTwin.load(p, manager));
        assertTrue(e.getMessage().contains("/extra_head/MatMul"), e.getMessage());
    }

    @Test
    void aPreparedGraphIsRefused() throws Exception {
        Path base = write("base", tiny);
        Path prepared = base.resolveSibling(UNetPreparer.PREPARED_FILE);
        UNetPreparer.prepare(base, 1, prepared);
        MembraneException e = assertThrows(MembraneException.class, () -> UNetTwin.load(prepared, manager));
        assertTrue(e.getMessage().contains("unprepared"), e.getMessage());
    }

    @Test
    void float16WeightsOnDiskPredictLikeTheFloat32Model() throws Exception {
        var g = tiny.getGraph().toBuilder();
        Path modelDir = TinyModel.dir().resolve("unet");
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getDataType() != TensorProto.DataType.FLOAT.getNumber()) continue;
            float[] v = Initializers.floats(t, modelDir);
            ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : v) b.putShort(Fp16Conversions.floatToFp16(x));
            g.setInitializer(i, t.toBuilder().clearFloatData().setDataType(TensorProto.DataType.FLOAT16.getNumber())
                    .setRawData(ByteString.copyFrom(b.array())));
        }
        Path p = write("fp16", tiny.toBuilder().setGraph(g).build());
        float[] latents = TwinParityTest.gaussian(3, 2 * 4 * 64, 1);
        float[] context = TwinParityTest.gaussian(4, 2 * 77 * 32, 1);
        float[] half;
        float[] full;
        try (UNetTwin t16 = UNetTwin.load(p, manager); UNetTwin t32 = UNetTwin.load(TinyModel.dir().resolve("unet/model.onnx"), manager);
             NDManager m = manager.newSubManager()) {
            var x = m.create(latents, new Shape(2, 4, 8, 8));
            var t = m.create(new float[] {300, 300});
            var c = m.create(context, new Shape(2, 77, 32));
            half = t16.predict(x, t, c, SiteAdapters.NONE).toFloatArray();
            full = t32.predict(x, t, c, SiteAdapters.NONE).toFloatArray();
        }
        double err = TwinParityTest.relative(half, full);
        // fp16 keeps 11 significant bits: the weights' rounding (~5e-4) carries through the network
        assertTrue(err > 0 && err < 1e-2, "fp16 weights vs fp32 weights: " + err);
    }

    @Test
    void cudaWithoutNativesNamesWhatToAdd() {
        MembraneException e = assertThrows(MembraneException.class, () -> TorchEngine.device(engine, "cuda"));
        assertTrue(e.getMessage().contains("pytorch-native-cu128"), e.getMessage());
    }
}
