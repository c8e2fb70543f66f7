package dev.membrane.spm;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

import dev.membrane.diffusion.ModelFolder;

/** Finds or makes a model folder's prepared UNet with enough slots. */
public final class PreparedUNets {
    private static final Logger LOG = Logger.getLogger(PreparedUNets.class.getName());

    private PreparedUNets() {
    }

    /** {@code unet/model.spm.onnx} with at least {@code slots} slots, prepared (again) if needed. */
    public static Path ensure(ModelFolder folder, int slots) {
        Path prepared = folder.unet().resolveSibling(UNetPreparer.PREPARED_FILE);
        if (Files.exists(prepared)) {
            Integer have = slotsOf(prepared);
            if (have != null && have >= slots && !isOlder(prepared, folder.unet())) return prepared;
        }
        LOG.info("preparing " + folder.unet() + " for SPM adapters with " + slots + " slots into " + prepared);
        UNetPreparer.prepare(folder.unet(), slots, prepared);
        return prepared;
    }

    private static boolean isOlder(Path a, Path b) {
        try {
            return Files.getLastModifiedTime(a).compareTo(Files.getLastModifiedTime(b)) < 0;
        } catch (java.io.IOException e) {
            return true;
        }
    }

    static Integer slotsOf(Path prepared) {
        for (StringStringEntryProto e : UNetPreparer.readModel(prepared).getMetadataPropsList()) {
            if (e.getKey().equals(SlotLayout.METADATA_KEY)) return SlotLayout.fromJson(e.getValue(), prepared.toString()).slots();
        }
        return null;
    }
}
