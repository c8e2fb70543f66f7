package dev.membrane.serving.memory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * What the machine gives this process: the container's memory limit (when one is set), physical RAM, and the
 * JVM's maximum heap. Injectable so that the default budget can be tested without a container.
 *
 * @param cgroupLimitBytes the cgroup memory limit; empty when none is set ("max", or v1's huge sentinel)
 * @param physicalBytes    physical RAM
 * @param maxHeapBytes     {@code Runtime.maxMemory()}: the heap may grow to this, so it is not ONNX Runtime's
 */
public record MachineMemory(OptionalLong cgroupLimitBytes, long physicalBytes, long maxHeapBytes) {
    /** cgroup v1 writes a page-aligned {@code Long.MAX_VALUE} for "no limit"; anything past 2^60 bytes is no limit. */
    private static final long NO_LIMIT_ABOVE = 1L << 60;

    /** The memory the process may use: the cgroup limit when one is set and below RAM, else RAM. */
    public long limitBytes() {
        return cgroupLimitBytes.isPresent() ? Math.min(cgroupLimitBytes.getAsLong(), physicalBytes) : physicalBytes;
    }

    /** This process's machine, reading the cgroup files under {@code /sys/fs/cgroup}. */
    public static MachineMemory detect() {
        return detect(Path.of("/sys/fs/cgroup"), physicalRam(), Runtime.getRuntime().maxMemory());
    }

    /**
     * @param cgroupRoot where the cgroup file system is mounted: v2's {@code memory.max} is read first, then
     *                   v1's {@code memory/memory.limit_in_bytes}
     */
    public static MachineMemory detect(Path cgroupRoot, long physicalBytes, long maxHeapBytes) {
        OptionalLong limit = cgroupLimit(cgroupRoot.resolve("memory.max"));
        if (limit.isEmpty()) limit = cgroupLimit(cgroupRoot.resolve("memory/memory.limit_in_bytes"));
        return new MachineMemory(limit, physicalBytes, maxHeapBytes);
    }

    static OptionalLong cgroupLimit(Path file) {
        if (!Files.isRegularFile(file)) return OptionalLong.empty();
        try {
            String text = Files.readString(file).trim();
            if (text.isEmpty() || text.equals("max")) return OptionalLong.empty();
            long v = Long.parseLong(text);
            return v <= 0 || v >= NO_LIMIT_ABOVE ? OptionalLong.empty() : OptionalLong.of(v);
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    private static long physicalRam() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        throw new IllegalStateException("this JVM does not report physical memory (com.sun.management.OperatingSystemMXBean)");
    }
}
