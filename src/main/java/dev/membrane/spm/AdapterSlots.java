package dev.membrane.spm;

import java.util.List;

import dev.membrane.MembraneException;

/**
 * The packed adapter inputs of a prepared UNet for one batch, each sample with its own stack. Values of row b:
 * Linear {@code down[b, inOffset + i, j] = D[r, i]} and {@code up[b, j, outOffset + o] = w · U[o, r]} for the
 * slot j given to component r, where w carries γ and alpha/r; Conv sites the transposed orientation. Unused slots
 * stay zero, so an empty stack adds nothing.
 *
 * @param linearDown [B, ΣIn, K]
 * @param linearUp   [B, K, ΣOut]
 * @param convDown   [B, K, ΣIn] (empty when the UNet has no Conv sites)
 * @param convUp     [B, ΣOut, K]
 * @param batch      B
 */
public record AdapterSlots(float[] linearDown, float[] linearUp, float[] convDown, float[] convUp, int batch) {

    /** Fills the slots of every row with one stacking mode. */
    public static AdapterSlots fill(SlotLayout layout, List<List<AppliedAdapter>> rows, StackingMode mode) {
        return fill(layout, rows, java.util.Collections.nCopies(rows.size(), mode));
    }

    /** Fills the slots of every row; {@code rows.get(b)} is row b's stack (possibly empty), combined by {@code modes.get(b)}. */
    public static AdapterSlots fill(SlotLayout layout, List<List<AppliedAdapter>> rows, List<StackingMode> modes) {
        int b = rows.size();
        int k = layout.slots();
        AdapterSlots s = new AdapterSlots(new float[b * layout.linearIn() * k], new float[b * k * layout.linearOut()],
                new float[b * k * layout.convIn()], new float[b * layout.convOut() * k], b);
        for (int row = 0; row < b; row++) {
            List<AppliedAdapter> stack = rows.get(row);
            if (stack.isEmpty()) continue;
            if (modes.get(row) == StackingMode.LINEAR) s.fillLinear(layout, row, stack);
            else s.fillOfficial(layout, row, stack);
        }
        return s;
    }

    private void fillLinear(SlotLayout layout, int row, List<AppliedAdapter> stack) {
        int needed = stack.stream().mapToInt(a -> a.file().rank()).sum();
        if (needed > layout.slots()) {
            throw new MembraneException("the stack needs " + needed + " rank-1 slots but the prepared UNet has "
                    + layout.slots() + " (prepare it with more --slots)");
        }
        int first = 0;
        for (AppliedAdapter a : stack) {
            for (SlotLayout.PlacedSite p : layout.sites()) {
                SpmModule m = a.file().modules().get(p.site().key());
                if (m == null) continue;
                put(layout, row, p, first, m.down(), m.up(), m.rank(), a.gamma() * m.scale());
            }
            first += a.file().rank();
        }
    }

    /**
     * Official stacking sums the factors and scales them by the first adapter's alpha / r (the official code does
     * not check the others), so every module of every adapter must share that rank and alpha: the index of the
     * first adapter that does not, or -1.
     */
    public static int officialMismatch(List<SpmFile> stack) {
        if (stack.isEmpty()) return -1;
        int rank = stack.get(0).rank();
        float alpha = stack.get(0).alpha();
        for (int i = 0; i < stack.size(); i++) {
            SpmFile f = stack.get(i);
            if (!f.uniform() || f.rank() != rank || f.alpha() != alpha) return i;
        }
        return -1;
    }

    private void fillOfficial(SlotLayout layout, int row, List<AppliedAdapter> stack) {
        int rank = stack.get(0).file().rank();
        float alpha = stack.get(0).file().alpha();
        int bad = officialMismatch(stack.stream().map(AppliedAdapter::file).toList());
        if (bad >= 0) {
            throw new MembraneException("official stacking needs one rank and alpha across the stack; "
                    + stack.get(bad).file().source() + " differs from " + stack.get(0).file().source());
        }
        if (rank > layout.slots()) throw new MembraneException("rank " + rank + " needs more than the " + layout.slots() + " slots");
        for (SlotLayout.PlacedSite p : layout.sites()) {
            float[] down = null;
            float[] up = null;
            for (AppliedAdapter a : stack) {
                SpmModule m = a.file().modules().get(p.site().key());
                if (m == null) continue;
                if (down == null) {
                    down = new float[m.down().length];
                    up = new float[m.up().length];
                }
                for (int i = 0; i < down.length; i++) down[i] += (float) (a.gamma() * m.down()[i]);
                for (int i = 0; i < up.length; i++) up[i] += (float) (a.gamma() * m.up()[i]);
            }
            if (down != null) put(layout, row, p, 0, down, up, rank, alpha / (double) rank);
        }
    }

    /** Writes components r = 0..rank-1 of one module into slots first..first+rank-1 of a row. */
    private void put(SlotLayout layout, int row, SlotLayout.PlacedSite p, int first, float[] down, float[] up, int rank, double weight) {
        int k = layout.slots();
        AdapterSite s = p.site();
        for (int r = 0; r < rank; r++) {
            int j = first + r;
            if (s.kind() == AdapterSite.Kind.MATMUL) {
                int sumIn = layout.linearIn();
                int sumOut = layout.linearOut();
                for (int i = 0; i < s.in(); i++) linearDown[(row * sumIn + p.inOffset() + i) * k + j] = down[r * s.in() + i];
                for (int o = 0; o < s.out(); o++) linearUp[(row * k + j) * sumOut + p.outOffset() + o] = (float) (weight * up[o * rank + r]);
            } else {
                int sumIn = layout.convIn();
                int sumOut = layout.convOut();
                for (int i = 0; i < s.in(); i++) convDown[(row * k + j) * sumIn + p.inOffset() + i] = down[r * s.in() + i];
                for (int o = 0; o < s.out(); o++) convUp[(row * sumOut + p.outOffset() + o) * k + j] = (float) (weight * up[o * rank + r]);
            }
        }
    }
}
