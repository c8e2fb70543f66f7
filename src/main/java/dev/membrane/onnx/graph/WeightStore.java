package dev.membrane.onnx.graph;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.membrane.MembraneException;

/**
 * Where the bytes of large initializers go: inside the model proto, or appended to an external data file beside
 * it (the layout optimum and diffusers use past protobuf's 2 GB limit, e.g. {@code unet/weights.pb}).
 * Streaming to the external file keeps a 3.4 GB SD 1.5-sized UNet out of the heap while it is built.
 */
public interface WeightStore extends AutoCloseable {

    /** Sets the tensor's data from {@code littleEndian} (position to limit), inline or as an external reference. */
    void place(TensorProto.Builder tensor, ByteBuffer littleEndian);

    @Override
    void close();

    /** Keeps data inside the model proto. */
    static WeightStore inline() {
        return new WeightStore() {
            @Override
            public void place(TensorProto.Builder tensor, ByteBuffer littleEndian) {
                tensor.setRawData(ByteString.copyFrom(littleEndian));
            }

            @Override
            public void close() {
            }
        };
    }

    /** Appends data to {@code file}; the proto records its name (relative to the model), offset and length. */
    static WeightStore external(Path file) {
        return new ExternalWeightStore(file);
    }

    /** Appends tensors to one external data file, each at a 64-byte-aligned offset. */
    final class ExternalWeightStore implements WeightStore {
        private static final int ALIGN = 64;
        private final Path file;
        private final OutputStream out;
        private long offset;

        ExternalWeightStore(Path file) {
            this.file = file;
            try {
                out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20);
            } catch (IOException e) {
                throw new MembraneException(file + ": cannot create external data file (" + e.getMessage() + ")");
            }
        }

        @Override
        public void place(TensorProto.Builder tensor, ByteBuffer littleEndian) {
            try {
                long pad = (ALIGN - offset % ALIGN) % ALIGN;
                for (long i = 0; i < pad; i++) out.write(0);
                offset += pad;
                int length = littleEndian.remaining();
                byte[] chunk = new byte[Math.min(length, 1 << 20)];
                ByteBuffer src = littleEndian.duplicate();
                while (src.hasRemaining()) {
                    int n = Math.min(chunk.length, src.remaining());
                    src.get(chunk, 0, n);
                    out.write(chunk, 0, n);
                }
                tensor.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", file.getFileName().toString()))
                        .addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Integer.toString(length)));
                offset += length;
            } catch (IOException e) {
                throw new MembraneException(file + ": cannot write external data (" + e.getMessage() + ")");
            }
        }

        private static StringStringEntryProto entry(String key, String value) {
            return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
        }

        @Override
        public void close() {
            try {
                out.close();
            } catch (IOException e) {
                throw new MembraneException(file + ": cannot finish external data (" + e.getMessage() + ")");
            }
        }
    }
}
