package dev.membrane.policy;

import dev.membrane.spm.transport.Transport;

/**
 * One concept a policy erases.
 *
 * @param conceptId the adapter catalog's id
 * @param transport how γ is chosen (the catalog's default when the policy names none), with its floor
 */
public record ConceptRule(String conceptId, Transport transport) {
}
