package dev.membrane.spm;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;

/**
 * Where each SPM site of a prepared UNet reads its adapter weights. All Linear sites share two packed inputs,
 * {@code spm_linear_down [B, ΣIn, K]} and {@code spm_linear_up [B, K, ΣOut]}; all 1x1-Conv sites two more,
 * {@code spm_conv_down [B, K, ΣIn]} and {@code spm_conv_up [B, ΣOut, K]} (the orientation the branch's MatMuls
 * take without transposes). Each site slices its [in] and [out] range. K is the number of rank-1 slots per sample:
 * a rank-r adapter takes r of them. The layout is stored in the prepared model's metadata.
 *
 * @param slots        K
 * @param sites        every site with its offsets, in graph order
 * @param linearIn     ΣIn over Linear sites
 * @param linearOut    ΣOut over Linear sites
 * @param convIn       ΣIn over Conv sites
 * @param convOut      ΣOut over Conv sites
 * @param elementType  "float" or "float16": the adapter inputs' element type (that of the site weights)
 */
public record SlotLayout(int slots, List<PlacedSite> sites, int linearIn, int linearOut, int convIn, int convOut,
                         String elementType) {
    public static final String LINEAR_DOWN = "spm_linear_down";
    public static final String LINEAR_UP = "spm_linear_up";
    public static final String CONV_DOWN = "spm_conv_down";
    public static final String CONV_UP = "spm_conv_up";
    public static final String METADATA_KEY = "membrane.spm.layout";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param site      the site
     * @param inOffset  offset of its input range in the packed down tensor
     * @param outOffset offset of its output range in the packed up tensor
     */
    public record PlacedSite(AdapterSite site, int inOffset, int outOffset) {
    }

    public static SlotLayout of(List<AdapterSite> sites, int slots, String elementType) {
        if (slots < 1) throw new MembraneException("slots must be at least 1, got " + slots);
        List<PlacedSite> placed = new ArrayList<>();
        int li = 0, lo = 0, ci = 0, co = 0;
        for (AdapterSite s : sites) {
            if (s.kind() == AdapterSite.Kind.MATMUL) {
                placed.add(new PlacedSite(s, li, lo));
                li += s.in();
                lo += s.out();
            } else {
                placed.add(new PlacedSite(s, ci, co));
                ci += s.in();
                co += s.out();
            }
        }
        return new SlotLayout(slots, List.copyOf(placed), li, lo, ci, co, elementType);
    }

    public String toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("slots", slots);
        n.put("elementType", elementType);
        ArrayNode a = n.putArray("sites");
        for (PlacedSite p : sites) {
            ObjectNode s = a.addObject();
            s.put("key", p.site().key());
            s.put("module", p.site().module());
            s.put("kind", p.site().kind().name());
            s.put("node", p.site().nodeName());
            s.put("weight", p.site().weightName());
            s.put("in", p.site().in());
            s.put("out", p.site().out());
        }
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static SlotLayout fromJson(String json, String source) {
        try {
            JsonNode n = JSON.readTree(json);
            List<AdapterSite> sites = new ArrayList<>();
            for (JsonNode s : n.get("sites")) {
                sites.add(new AdapterSite(s.get("key").asText(), s.get("module").asText(), AdapterSite.Kind.valueOf(s.get("kind").asText()),
                        s.get("node").asText(), s.get("weight").asText(), s.get("in").asInt(), s.get("out").asInt()));
            }
            return of(sites, n.get("slots").asInt(), n.path("elementType").asText("float"));
        } catch (JsonProcessingException | RuntimeException e) {
            throw new MembraneException(source + ": unreadable " + METADATA_KEY + " metadata (" + e.getMessage() + ")");
        }
    }

    public List<AdapterSite> adapterSites() {
        return sites.stream().map(PlacedSite::site).toList();
    }

    public boolean hasConvSites() {
        return convIn > 0;
    }
}
