package dev.membrane.policy;

import java.util.List;

import dev.membrane.spm.StackingMode;

/**
 * A platform policy: which concepts to erase, how, and what audit may keep.
 *
 * @param id           the policy's name in the document
 * @param version      the document's version
 * @param sha256       SHA-256 of the document's bytes
 * @param concepts     the concepts, in order
 * @param stacking     how the adapters combine
 * @param storePrompts whether audit records may carry the prompt text (its SHA-256 is always there)
 * @param promptCheck  blocked terms and patterns, checked before any generation ({@link PromptCheck#NONE} for none)
 * @param outputCheck  the classifier check of every generated image, or null for none
 */
public record Policy(String id, String version, String sha256, List<ConceptRule> concepts, StackingMode stacking,
                     boolean storePrompts, PromptCheck promptCheck, OutputCheck outputCheck) {

    /** A policy without prompt or output checks. */
    public Policy(String id, String version, String sha256, List<ConceptRule> concepts, StackingMode stacking, boolean storePrompts) {
        this(id, version, sha256, concepts, stacking, storePrompts, PromptCheck.NONE, null);
    }
}
