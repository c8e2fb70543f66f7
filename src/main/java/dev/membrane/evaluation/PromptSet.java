package dev.membrane.evaluation;

import java.util.ArrayList;
import java.util.List;

import dev.membrane.evaluation.classifier.Head;
import dev.membrane.world.Colour;
import dev.membrane.world.ShapeKind;

/**
 * The prompts on which a concept's detection rate is measured: every caption of the world that names it with the
 * other attribute(s) varied (a shape over all colours, a colour over all shapes, stripes over all colour and shape
 * pairs; solid over all solid pairs).
 *
 * @param concept what the classifier should (not) see
 * @param prompts the prompts, in a fixed order
 */
public record PromptSet(Concept concept, List<String> prompts) {
    public PromptSet {
        prompts = List.copyOf(prompts);
    }

    public static PromptSet of(Concept c) {
        List<String> p = new ArrayList<>();
        switch (c.head()) {
            case SHAPE -> {
                for (Colour col : Colour.values()) p.add("a " + col.word() + " " + c.word());
            }
            case COLOUR -> {
                for (ShapeKind s : ShapeKind.values()) p.add("a " + c.word() + " " + s.word());
            }
            case STYLE -> {
                String prefix = c.word().equals("striped") ? "a striped " : "a ";
                for (Colour col : Colour.values()) for (ShapeKind s : ShapeKind.values()) p.add(prefix + col.word() + " " + s.word());
            }
            default -> throw new IllegalArgumentException("no prompt set for the " + c.head().id() + " head");
        }
        return new PromptSet(c, p);
    }

    /**
     * The sets an erasure of {@code target} is measured on: its own, and one per other concept of its head (for
     * stripes: solid); concepts that another adapter of the stack erases are left out, and so are prompts naming
     * one, since nothing there should be preserved.
     *
     * @param target  the concept
     * @param erased  every concept the stack erases ({@code target} included)
     */
    public static Plan plan(Concept target, List<Concept> erased) {
        List<Concept> others = new ArrayList<>();
        for (Concept c : Concept.all()) {
            if (c.head() == target.head() && !c.equals(target) && !erased.contains(c)) others.add(c);
        }
        List<PromptSet> nonTargets = new ArrayList<>();
        for (Concept c : others) {
            List<String> kept = new ArrayList<>();
            for (String prompt : of(c).prompts()) {
                if (erased.stream().noneMatch(e -> e.namedIn(prompt))) kept.add(prompt);
            }
            if (!kept.isEmpty()) nonTargets.add(new PromptSet(c, kept));
        }
        return new Plan(of(target), nonTargets);
    }

    /** A target's prompt set and its non-target ones. */
    public record Plan(PromptSet target, List<PromptSet> nonTargets) {
    }
}
