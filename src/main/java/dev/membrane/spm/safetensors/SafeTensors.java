package dev.membrane.spm.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON header ({@code name →
 * {dtype, shape, data_offsets}} plus an optional {@code __metadata__} of string → string), then the data, each
 * tensor's offsets relative to the data's start. Reading checks every bound and names the byte offset at fault.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    /** A parsed file: metadata and tensors in header order. */
    public record Contents(Map<String, String> metadata, Map<String, Tensor> tensors) {
    }

    private SafeTensors() {
    }

    public static Contents read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new MembraneException(file + ": no such file");
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot read (" + e.getMessage() + ")");
        }
        return parse(file.toString(), bytes);
    }

    public static Contents parse(String source, byte[] bytes) {
        if (bytes.length < 8) throw damaged(source, 0, "file of " + bytes.length + " bytes is shorter than the 8-byte header length");
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = buf.getLong();
        if (headerLength < 2 || headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
            throw damaged(source, 0, "header length " + headerLength + " does not fit a file of " + bytes.length + " bytes");
        }
        JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw damaged(source, 8, "header is not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (header == null || !header.isObject()) throw damaged(source, 8, "header is not a JSON object");
        long dataStart = 8 + headerLength;
        long dataLength = bytes.length - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw damaged(source, 8, "__metadata__ is not an object");
                v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            DType dtype = DType.parse(v.path("dtype").asText());
            if (dtype == null) {
                throw new MembraneException(source + ": tensor " + name + " has unsupported dtype '" + v.path("dtype").asText()
                        + "' (F32, F16, BF16)");
            }
            JsonNode shapeNode = v.path("shape");
            JsonNode offsets = v.path("data_offsets");
            if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
                throw damaged(source, 8, "tensor " + name + " lacks shape or data_offsets");
            }
            long[] shape = new long[shapeNode.size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) throw damaged(source, 8, "tensor " + name + " has a negative dimension");
                count *= shape[i];
            }
            long begin = offsets.get(0).asLong(-1);
            long end = offsets.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > dataLength) {
                throw damaged(source, dataStart + Math.max(0, begin), "tensor " + name + " data [" + begin + ", " + end
                        + ") lies outside the " + dataLength + " data bytes");
            }
            if (end - begin != count * dtype.bytes()) {
                throw damaged(source, dataStart + begin, "tensor " + name + " has " + (end - begin) + " bytes for "
                        + count + " " + dtype + " values");
            }
            ByteBuffer slice = ByteBuffer.wrap(bytes, (int) (dataStart + begin), (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
            tensors.put(name, new Tensor(dtype, shape, dtype.decode(slice, (int) count)));
        }
        return new Contents(metadata, tensors);
    }

    private static MembraneException damaged(String source, long offset, String problem) {
        return new MembraneException(source + ": damaged safetensors file at byte " + offset + ": " + problem);
    }

    /**
     * Writes F32 tensors in name order with the given metadata; the header is padded with spaces to a multiple of
     * 8 bytes as the reference implementation does. The bytes are a pure function of the arguments.
     */
    public static byte[] serialize(Map<String, String> metadata, Map<String, Tensor> tensors) {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(m::put);
        }
        long offset = 0;
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() != DType.F32) throw new IllegalArgumentException("only F32 is written: " + e.getKey());
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", "F32");
            var shape = n.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            var offsets = n.putArray("data_offsets");
            offsets.add(offset);
            offset += 4L * t.values().length;
            offsets.add(offset);
        }
        byte[] headerBytes;
        try {
            headerBytes = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int padded = (headerBytes.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(headerBytes);
        for (int i = headerBytes.length; i < padded; i++) out.put((byte) ' ');
        for (Tensor t : sorted.values()) for (float v : t.values()) out.putFloat(v);
        return out.array();
    }

    public static void write(Path file, Map<String, String> metadata, Map<String, Tensor> tensors) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            Files.write(file, serialize(metadata, tensors));
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot write (" + e.getMessage() + ")");
        }
    }
}
