package dev.membrane.policy;

import java.util.List;

import dev.membrane.spm.SpmFile;
import dev.membrane.spm.catalog.CatalogEntry;
import dev.membrane.spm.transport.Transport;

/**
 * What applies to a request: its policy with every adapter loaded and verified, or a refusal (fail closed).
 *
 * @param policy   the policy that applies (null when none does)
 * @param adapters the verified adapters (empty on refusal)
 * @param refusal  why requests under this policy are refused; null when they are served
 */
public record PolicyDecision(Policy policy, List<ResolvedAdapter> adapters, String refusal) {

    /**
     * @param entry     the catalog entry
     * @param file      the loaded file, its SHA-256 matching the catalog's pin
     * @param transport the policy's transport for it
     */
    public record ResolvedAdapter(CatalogEntry entry, SpmFile file, Transport transport) {
    }

    public boolean refused() {
        return refusal != null;
    }
}
