package dev.membrane.evaluation;

import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * How a report's images were made, for its header.
 *
 * @param adapters per adapter of the stack: file, SHA-256, prompts and fixed weight (empty for fidelity)
 */
public record RunSettings(String model, String classifier, List<AdapterInfo> adapters, String transport, double transportFactor,
                          String stacking, int gammaPower, int seeds, long firstSeed, int steps, double guidance, String scheduler,
                          int width, int height, String device) {
    public RunSettings {
        adapters = List.copyOf(adapters);
    }

    public record AdapterInfo(String file, String sha256, List<String> prompts, double weight) {
    }

    void into(ObjectNode n) {
        n.put("model", model);
        n.put("classifier", classifier);
        if (!adapters.isEmpty()) {
            ArrayNode a = n.putArray("adapters");
            for (AdapterInfo i : adapters) {
                ObjectNode o = a.addObject();
                o.put("file", i.file());
                o.put("sha256", i.sha256());
                ReportJson.strings(o, "prompts", i.prompts());
                o.put("weight", i.weight());
            }
            n.put("transport", transport);
            n.put("transportFactor", transportFactor);
            n.put("stacking", stacking);
            n.put("gammaPower", gammaPower);
        }
        n.put("seeds", seeds);
        n.put("firstSeed", firstSeed);
        n.put("steps", steps);
        n.put("guidance", guidance);
        n.put("scheduler", scheduler);
        n.put("width", width);
        n.put("height", height);
        n.put("device", device);
    }

    String markdownHeader() {
        StringBuilder b = new StringBuilder();
        b.append("Model `").append(model).append("`, classifier `").append(classifier).append("`; ")
                .append(seeds).append(" seed(s) from ").append(firstSeed).append(", ").append(steps).append(" steps, guidance ")
                .append(guidance).append(", ").append(scheduler).append(", ").append(width).append('x').append(height)
                .append(", ").append(device).append(".\n");
        if (!adapters.isEmpty()) {
            b.append("Adapters (").append(stacking).append(" stacking, ").append(transport).append(" transport");
            if (transport.equals("facilitated")) b.append(", factor ").append(transportFactor);
            b.append("):\n\n");
            for (AdapterInfo i : adapters) {
                b.append("- `").append(i.file()).append("` (").append(String.join(", ", i.prompts())).append("; sha256 ")
                        .append(i.sha256(), 0, 12).append('…');
                if (transport.equals("fixed")) b.append("; γ ").append(i.weight());
                b.append(")\n");
            }
        }
        return b.append('\n').toString();
    }
}
