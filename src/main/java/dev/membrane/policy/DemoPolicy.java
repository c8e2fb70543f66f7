package dev.membrane.policy;

import java.util.Locale;

import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.spm.catalog.CatalogEntry;
import dev.membrane.spm.transport.Transport;

/**
 * The embedded default's policy on the tiny reference model: every tenant and app gets every catalog adapter but
 * the shapes model's, NSFW concepts at a fixed γ
 * (the catalog's, else 2.0), copyright and style concepts with Facilitated Transport (the catalog's factor).
 */
public final class DemoPolicy {
    private DemoPolicy() {
    }

    /** The shapes adapters the shapes demo policy names (they are trained on the committed shapes model). */
    public static final String SHAPES_PREFIX = "shapes-";
    public static final String SHAPES_CIRCLE = "shapes-circle";
    public static final String SHAPES_STRIPED = "shapes-striped";
    /** The embedded default's output classifier (the shapes concept classifier, see ConceptOutputClassifier). */
    public static final String OUTPUT_CLASSIFIER = "shapes-concepts";

    /**
     * The embedded default's policy when it serves the shapes model: nothing erased by default, circles erased
     * for app {@code kids-app} and the striped style for app {@code brand-app} (tenant {@code demo}), so that a
     * producer sees erasure by choosing the app; each of the two also blocks, by the output check, an image the
     * concept classifier still calls a circle (striped). Adapters trained on another model have no place here: their
     * shapes do not fit this UNet.
     */
    public static String shapesYaml(AdapterCatalog catalog) {
        for (String id : new String[] {SHAPES_CIRCLE, SHAPES_STRIPED}) {
            if (!catalog.entries().containsKey(id)) throw new dev.membrane.MembraneException("the adapter catalog has no '" + id + "' (adapters/shapes/)");
        }
        return """
                # Membrane demo policy for the shapes model, written by `serve` because membrane.policy.file is not set.
                # Edit it while the gateway runs: it is reloaded when it changes (a bad edit keeps the last good one).
                version: "demo-shapes-2"
                defaultPolicy: open
                policies:
                  open:
                    stacking: linear
                    storePrompts: true
                    concepts: []
                  no-circles:
                    stacking: linear
                    storePrompts: true
                    concepts:
                      - id: %s
                    # the second line of defence: what the adapter lets through is not published
                    outputCheck:
                      classifier: %s
                      rules: {circle: {threshold: 0.5, action: block}}
                  no-stripes:
                    stacking: linear
                    storePrompts: true
                    concepts:
                      - id: %s
                    outputCheck:
                      classifier: %s
                      rules: {striped: {threshold: 0.5, action: block}}
                tenants:
                  demo:
                    policy: open
                    apps: {kids-app: no-circles, brand-app: no-stripes}
                """.formatted(SHAPES_CIRCLE, OUTPUT_CLASSIFIER, SHAPES_STRIPED, OUTPUT_CLASSIFIER);
    }

    public static String yaml(AdapterCatalog catalog) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Membrane demo policy, written by `serve` because membrane.policy.file is not set.\n");
        sb.append("# Edit it while the gateway runs: it is reloaded when it changes (a bad edit keeps the last good one).\n");
        sb.append("version: \"demo-1\"\n");
        sb.append("defaultPolicy: demo\n");
        sb.append("policies:\n  demo:\n    stacking: linear\n    storePrompts: true\n    concepts:\n");
        for (CatalogEntry e : catalog.entries().values()) {
            // the shapes adapters are trained on the shapes model; their tensors do not fit the tiny model's UNet
            if (e.id().startsWith(SHAPES_PREFIX)) continue;
            sb.append("      - id: ").append(e.id()).append('\n');
            boolean nsfw = e.category().toLowerCase(Locale.ROOT).equals("nsfw");
            Transport t = e.transport();
            if (nsfw) {
                double gamma = t.kind() == Transport.Kind.FIXED ? t.value() : 2.0;
                sb.append("        transport: {kind: fixed, gamma: ").append(gamma).append("}\n");
            } else {
                double factor = t.kind() == Transport.Kind.FACILITATED ? t.value() : 1.0;
                sb.append("        transport: {kind: facilitated, factor: ").append(factor).append("}\n");
            }
        }
        sb.append("tenants: {}\n");
        return sb.toString();
    }
}
