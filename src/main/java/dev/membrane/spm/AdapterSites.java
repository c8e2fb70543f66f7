package dev.membrane.spm;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the SPM sites of an SD 1.x UNet graph from the PyTorch exporter's node names: every Linear/1x1-Conv inside
 * each Transformer2DModel ({@code proj_in}, {@code proj_out}, {@code attn1}/{@code attn2} {@code to_q/to_k/to_v/
 * to_out.0}, {@code ff.net.0.proj}, {@code ff.net.2}): 192 on SD 1.x.
 */
public final class AdapterSites {
    private static final Pattern SITE = Pattern.compile(
            "/((?:down_blocks|up_blocks)\\.\\d+/attentions\\.\\d+|mid_block/attentions\\.\\d+)"
                    + "/(proj_in|proj_out|transformer_blocks\\.\\d+/(?:attn[12]/(?:to_q|to_k|to_v|to_out\\.0)|ff/net\\.0/proj|ff/net\\.2))"
                    + "/(MatMul|Conv)");

    private AdapterSites() {
    }

    /** The sites in graph order; layers whose weight is not a plain initializer are skipped. */
    public static List<AdapterSite> find(GraphProto graph) {
        Map<String, TensorProto> initializers = new HashMap<>();
        for (TensorProto t : graph.getInitializerList()) initializers.put(t.getName(), t);
        List<AdapterSite> sites = new ArrayList<>();
        for (NodeProto node : graph.getNodeList()) {
            Matcher m = SITE.matcher(node.getName());
            if (!m.matches() || node.getInputCount() < 2 || !node.getOpType().equals(m.group(3))) continue;
            TensorProto w = initializers.get(node.getInput(1));
            if (w == null) continue;
            String module = (m.group(1) + "/" + m.group(2)).replace('/', '.');
            String key = "lora_unet_" + module.replace('.', '_');
            if (node.getOpType().equals("MatMul") && w.getDimsCount() == 2) {
                sites.add(new AdapterSite(key, module, AdapterSite.Kind.MATMUL, node.getName(), w.getName(),
                        (int) w.getDims(0), (int) w.getDims(1)));
            } else if (node.getOpType().equals("Conv") && w.getDimsCount() == 4 && w.getDims(2) == 1 && w.getDims(3) == 1) {
                sites.add(new AdapterSite(key, module, AdapterSite.Kind.CONV, node.getName(), w.getName(),
                        (int) w.getDims(1), (int) w.getDims(0)));
            }
        }
        return sites;
    }
}
