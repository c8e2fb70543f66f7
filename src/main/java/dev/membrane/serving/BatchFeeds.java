package dev.membrane.serving;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import dev.membrane.diffusion.TextEmbeddings;
import dev.membrane.onnx.OrtErrors;
import dev.membrane.spm.AdapterFeeds;
import dev.membrane.spm.AdapterSlots;
import dev.membrane.spm.SlotLayout;

/**
 * The per-row UNet inputs that stay fixed while a batch's membership does: every row's text embeddings and adapter
 * slots, concatenated in row order (each sample's rows: [negative, positive] when guided, else [positive]). Built
 * when a request joins or leaves, not at every step: on SD 1.5 the slot tensors are megabytes per row.
 */
final class BatchFeeds implements AutoCloseable {
    final TextEmbeddings context;
    final Map<String, OnnxTensor> adapters;
    final int rows;

    private BatchFeeds(TextEmbeddings context, Map<String, OnnxTensor> adapters, int rows) {
        this.context = context;
        this.adapters = adapters;
        this.rows = rows;
    }

    static BatchFeeds build(OrtEnvironment env, SlotLayout layout, List<ActiveRequest> members, Path unetFile) {
        int rows = members.stream().mapToInt(ActiveRequest::rows).sum();
        int k = layout.slots();
        int ld = layout.linearIn() * k, lu = k * layout.linearOut(), cd = k * layout.convIn(), cu = layout.convOut() * k;
        AdapterSlots out = new AdapterSlots(new float[rows * ld], new float[rows * lu], new float[rows * cd], new float[rows * cu], rows);
        TextEmbeddings first = members.get(0).request.images().get(0).context();
        int perRow = first.length() * first.width();
        float[] context = new float[rows * perRow];
        int row = 0;
        for (ActiveRequest m : members) {
            AdapterSlots src = m.request.slotRows();
            for (int i = 0; i < m.samples.size(); i++) {
                PreparedImage image = m.samples.get(i).image();
                for (int r = 0; r < image.rows(); r++, row++) {
                    System.arraycopy(image.context().data(), r * perRow, context, row * perRow, perRow);
                    System.arraycopy(src.linearDown(), i * ld, out.linearDown(), row * ld, ld);
                    System.arraycopy(src.linearUp(), i * lu, out.linearUp(), row * lu, lu);
                    System.arraycopy(src.convDown(), i * cd, out.convDown(), row * cd, cd);
                    System.arraycopy(src.convUp(), i * cu, out.convUp(), row * cu, cu);
                }
            }
        }
        Map<String, OnnxTensor> tensors = OrtErrors.call(unetFile, "creating adapter inputs", () -> AdapterFeeds.tensors(env, layout, out));
        return new BatchFeeds(new TextEmbeddings(context, rows, first.length(), first.width()), tensors, rows);
    }

    @Override
    public void close() {
        adapters.values().forEach(OnnxTensor::close);
    }
}
