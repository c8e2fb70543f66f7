package dev.membrane.evaluation;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.membrane.MembraneException;
import dev.membrane.evaluation.classifier.Head;
import dev.membrane.world.Colour;
import dev.membrane.world.ShapeKind;
import dev.membrane.world.Style;

/**
 * A concept of the shapes world the classifier can detect: a caption word and the head and class that see it
 * (a shape word → the shape head, a colour word → the colour head, {@code striped}/{@code solid} → the style head).
 *
 * @param word    the caption word ({@code "solid"} for the unmarked style)
 * @param head    the classifier head
 * @param classId the class index in that head
 */
public record Concept(String word, Head head, int classId) {
    public static Concept of(ShapeKind s) {
        return new Concept(s.word(), Head.SHAPE, s.ordinal());
    }

    public static Concept of(Colour c) {
        return new Concept(c.word(), Head.COLOUR, c.ordinal());
    }

    public static Concept of(Style s) {
        return new Concept(s.name().toLowerCase(Locale.ROOT), Head.STYLE, s.ordinal());
    }

    /** Every concept, shapes then colours then styles. */
    public static List<Concept> all() {
        List<Concept> out = new ArrayList<>();
        for (ShapeKind s : ShapeKind.values()) out.add(of(s));
        for (Colour c : Colour.values()) out.add(of(c));
        for (Style s : Style.values()) out.add(of(s));
        return out;
    }

    /**
     * The one concept an SPM's target prompt names: {@code "circle"}, {@code "a circle"} or {@code "red"}; a prompt
     * naming none or several ({@code "a red circle"}) is refused, since its erasure has no single head to measure.
     */
    public static Concept parse(String prompt) {
        List<Concept> found = new ArrayList<>();
        for (String token : prompt.toLowerCase(Locale.ROOT).split("[^a-z]+")) {
            for (Concept c : all()) if (c.word().equals(token) && !found.contains(c)) found.add(c);
        }
        if (found.size() != 1) {
            throw new MembraneException("SPM target prompt '" + prompt + "' must name exactly one concept of the shapes world ("
                    + String.join(", ", all().stream().map(Concept::word).toList()) + "), found " + found.size());
        }
        return found.get(0);
    }

    /** Whether {@code prompt} names this concept (as a whole word; a solid prompt is one without "striped"). */
    public boolean namedIn(String prompt) {
        List<String> words = List.of(prompt.toLowerCase(Locale.ROOT).split("[^a-z]+"));
        if (head == Head.STYLE && classId == Style.SOLID.ordinal()) return !words.contains("striped");
        return words.contains(word);
    }
}
