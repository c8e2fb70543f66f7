package dev.membrane.safety.tfjs;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

import dev.membrane.MembraneException;

/**
 * The files of an npm package, read from its tarball ({@code npm pack}'s {@code .tgz}: gzip over ustar, every path
 * under {@code package/}) or from an unpacked folder (the package root, or a folder holding {@code package/}).
 * Paths are relative to the package root.
 */
final class PackageFiles {
    private PackageFiles() {
    }

    /** The files whose package-relative path {@code wanted} accepts. */
    static Map<String, byte[]> read(Path source, Predicate<String> wanted) {
        if (Files.isDirectory(source)) return fromFolder(source, wanted);
        if (Files.isRegularFile(source)) return fromTarball(source, wanted);
        throw new MembraneException(source + ": no such package tarball or folder");
    }

    private static Map<String, byte[]> fromFolder(Path dir, Predicate<String> wanted) {
        Path root = Files.isRegularFile(dir.resolve("package.json")) ? dir : dir.resolve("package");
        if (!Files.isRegularFile(root.resolve("package.json"))) {
            throw new MembraneException(dir + ": not an npm package folder (no package.json in it or in package/)");
        }
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (var files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String rel = root.relativize(f).toString().replace('\\', '/');
                if (wanted.test(rel)) out.put(rel, Files.readAllBytes(f));
            }
        } catch (IOException e) {
            throw new MembraneException(dir + ": cannot read the package (" + e.getMessage() + ")");
        }
        return out;
    }

    private static Map<String, byte[]> fromTarball(Path file, Predicate<String> wanted) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            byte[] header = new byte[512];
            while (readFully(in, header)) {
                if (allZero(header)) break;
                String name = field(header, 0, 100);
                String prefix = field(header, 345, 155);
                if (!prefix.isEmpty()) name = prefix + "/" + name;
                long size = Long.parseLong(field(header, 124, 12).trim().isEmpty() ? "0" : field(header, 124, 12).trim(), 8);
                char type = (char) header[156];
                long padded = (size + 511) / 512 * 512;
                String rel = name.startsWith("package/") ? name.substring("package/".length()) : null;
                if ((type == '0' || type == 0) && rel != null && wanted.test(rel)) {
                    if (size > Integer.MAX_VALUE - 16) throw new MembraneException(file + ": " + name + " is too large");
                    byte[] data = new byte[(int) size];
                    if (!readFully(in, data)) throw new MembraneException(file + ": truncated at " + name);
                    out.put(rel, data);
                    in.skipNBytes(padded - size);
                } else {
                    in.skipNBytes(padded);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new MembraneException(file + ": not a readable npm tarball (" + e.getMessage() + ")");
        }
        return out;
    }

    private static String field(byte[] header, int offset, int length) {
        int end = offset;
        while (end < offset + length && header[end] != 0) end++;
        return new String(header, offset, end - offset, StandardCharsets.UTF_8);
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    private static boolean readFully(InputStream in, byte[] buf) throws IOException {
        int n = in.readNBytes(buf, 0, buf.length);
        if (n == 0) return false;
        if (n < buf.length) throw new IOException("truncated archive");
        return true;
    }
}
