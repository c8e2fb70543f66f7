package dev.membrane.policy;

import java.util.Locale;

import dev.membrane.spm.catalog.AdapterCatalog;
import dev.membrane.spm.catalog.CatalogEntry;
import dev.membrane.spm.transport.Transport;

/**
 * The embedded default's policy: every tenant and app gets every catalog adapter, NSFW concepts at a fixed γ
 * (the catalog's, else 2.0), copyright and style concepts with Facilitated Transport (the catalog's factor).
 */
public final class DemoPolicy {
    private DemoPolicy() {
    }

    public static String yaml(AdapterCatalog catalog) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Membrane demo policy, written by `serve` because membrane.policy.file is not set.\n");
        sb.append("# Edit it while the gateway runs: it is reloaded when it changes (a bad edit keeps the last good one).\n");
        sb.append("version: \"demo-1\"\n");
        sb.append("defaultPolicy: demo\n");
        sb.append("policies:\n  demo:\n    stacking: linear\n    storePrompts: true\n    concepts:\n");
        for (CatalogEntry e : catalog.entries().values()) {
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
