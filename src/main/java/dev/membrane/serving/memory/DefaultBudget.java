package dev.membrane.serving.memory;

/** The default memory budget's arithmetic; documented on {@link MemoryModel#defaultBudgetMb(MachineMemory, long)}. */
final class DefaultBudget {
    /** At least this much is held back for JVM non-heap memory and fragmentation. */
    static final long MIN_MARGIN_BYTES = 1L << 30;
    /** Or this share of the limit, whichever is larger: non-heap and fragmentation grow with the machine. */
    static final double MARGIN_SHARE = 0.10;
    private static final long MB = 1L << 20;

    private DefaultBudget() {
    }

    static long marginBytes(long limitBytes) {
        return Math.max(MIN_MARGIN_BYTES, (long) (MARGIN_SHARE * limitBytes));
    }

    static long mb(MachineMemory machine, long weightBytes) {
        long limit = machine.limitBytes();
        long left = limit - machine.maxHeapBytes() - weightBytes - marginBytes(limit);
        return Math.max(0, left) / MB;
    }
}
