package dev.membrane.serving.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.membrane.MembraneException;

/**
 * Graphs whose module names are gone (an optimised export): the sizes come from diffusers' {@code config.json},
 * and without one the reader says what is missing.
 */
class ShapeFallbackTest {

    /** A graph with one named weight (conv_in or post_quant_conv) and one anonymous fused node. */
    private static Path graph(Path dir, String component, String weight, TensorProto.DataType type, int payloadBytes) throws Exception {
        TensorProto w = TensorProto.newBuilder().setName(weight).setDataType(type.getNumber()).addAllDims(List.of(320L, 4L, 3L, 3L))
                .setRawData(ByteString.copyFrom(new byte[payloadBytes])).build();
        GraphProto g = GraphProto.newBuilder().setName(component).addInitializer(w)
                .addNode(NodeProto.newBuilder().setName("fused_1").setOpType("Conv").addInput("x").addInput(weight).addOutput("y")).build();
        Path file = dir.resolve(component + "/model.onnx");
        Files.createDirectories(file.getParent());
        Files.write(file, ModelProto.newBuilder().setIrVersion(8).setGraph(g).build().toByteArray());
        return file;
    }

    @Test
    void unetSizesFromConfigWhereTheGraphHasNoNames(@TempDir Path dir) throws Exception {
        Path file = graph(dir, "unet", "conv_in.weight", TensorProto.DataType.FLOAT16, 320 * 4 * 9 * 2);
        // diffusers' SD 1.5 unet/config.json (the relevant keys): attention_head_dim is the head count in SD 1.x
        Files.writeString(file.resolveSibling("config.json"), """
                {"block_out_channels": [320, 640, 1280, 1280],
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "attention_head_dim": 8, "cross_attention_dim": 768}""");
        OnnxShapes g = OnnxShapes.read(file);
        UNetShape s = UNetShapeReader.read(g, ComponentConfig.beside(file), 77);
        assertEquals(new UNetShape(List.of(320, 640, 1280, 1280), List.of(true, true, true, false), 8, 77, 768, 2), s);
        assertTrue(g.weight("conv_in").orElseThrow().getRawData().isEmpty(), "weight payloads are not read into the heap");
    }

    @Test
    void vaeSizesFromConfigInDecoderOrder(@TempDir Path dir) throws Exception {
        Path file = graph(dir, "vae_decoder", "post_quant_conv.weight", TensorProto.DataType.FLOAT, 16);
        Files.writeString(file.resolveSibling("config.json"), "{\"block_out_channels\": [128, 256, 512, 512]}");
        VaeShape s = VaeShapeReader.read(OnnxShapes.read(file), ComponentConfig.beside(file));
        assertEquals(new VaeShape(512, true, List.of(512, 512, 256, 128), List.of(true, true, true, false), 4), s);
        assertEquals(16, OnnxShapes.read(file).weight("post_quant_conv").orElseThrow().getRawData().size(), "small payloads are kept");
    }

    /**
     * A graph named as torch exports diffusers' UNet2DConditionModel: parameters keep their module names, and
     * attn1's {@code view(batch, -1, heads, headDim)} becomes a Concat of constants, not a constant shape.
     */
    @Test
    void diffusersExportNamesWithRunTimeReshapeNeedNoConfig(@TempDir Path dir) throws Exception {
        int[] ch = {320, 640, 1280, 1280};
        GraphProto.Builder g = GraphProto.newBuilder().setName("unet");
        g.addInitializer(weightOnly("conv_in.weight", 320, 4, 3, 3));
        for (int i = 0; i < 4; i++) {
            g.addInitializer(weightOnly("down_blocks." + i + ".resnets.0.conv1.weight", ch[i], i == 0 ? 320 : ch[i - 1], 3, 3));
            if (i == 3) continue;
            String attn1 = "/down_blocks." + i + "/attentions.0/transformer_blocks.0/attn1";
            List<String> parts = new ArrayList<>(List.of(attn1 + "/Gather_output_0"));
            for (long v : new long[] {-1, 8, ch[i] / 8}) {
                String out = attn1 + "/Constant_" + parts.size() + "_output_0";
                g.addNode(NodeProto.newBuilder().setOpType("Constant").setName(attn1 + "/Constant_" + parts.size()).addOutput(out)
                        .addAttribute(AttributeProto.newBuilder().setName("value")
                                .setType(AttributeProto.AttributeType.TENSOR).setT(int64(v))));
                parts.add(out);
            }
            g.addNode(NodeProto.newBuilder().setOpType("Concat").setName(attn1 + "/Concat").addAllInput(parts).addOutput(attn1 + "/Concat_output_0"));
        }
        var dims = TensorShapeProto.newBuilder();
        dims.addDimBuilder().setDimParam("batch");
        dims.addDimBuilder().setDimValue(77);
        dims.addDimBuilder().setDimValue(768);
        g.addInput(ValueInfoProto.newBuilder().setName("encoder_hidden_states")
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(TensorProto.DataType.FLOAT.getNumber()).setShape(dims))));
        Path file = dir.resolve("unet/model.onnx");
        Files.createDirectories(file.getParent());
        Files.write(file, ModelProto.newBuilder().setIrVersion(8).setGraph(g).build().toByteArray());
        assertEquals(MemoryModelTest.SD15_UNET, UNetShapeReader.read(OnnxShapes.read(file), ComponentConfig.beside(file), 77));
    }

    private static TensorProto weightOnly(String name, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT.getNumber());
        for (long d : dims) t.addDims(d);
        return t.build();
    }

    private static TensorProto int64(long v) {
        return TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64.getNumber()).addDims(1).addInt64Data(v).build();
    }

    @Test
    void noNamesAndNoConfigFailsNamingWhatIsMissing(@TempDir Path dir) throws Exception {
        Path file = graph(dir, "unet", "conv_in.weight", TensorProto.DataType.FLOAT, 0);
        MembraneException e = assertThrows(MembraneException.class,
                () -> UNetShapeReader.read(OnnxShapes.read(file), ComponentConfig.beside(file), 77));
        assertTrue(e.getMessage().contains("block channels") && e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void notAnOnnxFileIsNamed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("model.onnx");
        Files.writeString(file, "not a protobuf at all");
        MembraneException e = assertThrows(MembraneException.class, () -> OnnxShapes.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    }
}
