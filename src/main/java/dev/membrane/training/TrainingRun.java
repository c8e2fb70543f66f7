package dev.membrane.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.Hashes;
import dev.membrane.MembraneException;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.training.twin.UNetTwin;

/**
 * One {@code spm train} invocation: the recipe (from the command line, or from the checkpoint being resumed), the
 * twin of the folder's UNet, progress on stderr, Ctrl-C handling, and the JSON summary.
 */
public final class TrainingRun {
    private static final Logger LOG = Logger.getLogger(TrainingRun.class.getName());
    private static final int WINDOW = 50;

    private final ModelFolder folder;
    private final TrainingSpec spec;
    private final TrainingCheckpoint resume;

    private TrainingRun(ModelFolder folder, TrainingSpec spec, TrainingCheckpoint resume) {
        this.folder = folder;
        this.spec = spec;
        this.resume = resume;
    }

    /** With {@code resumeFile}, the checkpoint's recipe replaces {@code requested} (a resumed run is the same run). */
    public static TrainingRun prepare(ModelFolder folder, TrainingSpec requested, Path resumeFile) {
        if (resumeFile == null) return new TrainingRun(folder, requested, null);
        TrainingCheckpoint c = TrainingCheckpoint.read(resumeFile);
        if (!c.spec().equals(requested)) LOG.info("resuming " + resumeFile + " with its own recipe: " + c.spec().toJson());
        return new TrainingRun(folder, c.spec(), c);
    }

    public TrainingSpec spec() {
        return spec;
    }

    /** The identity a checkpoint records: the UNet graph file's SHA-256 (external weights are named by it). */
    static String unetIdentity(Path unet) {
        try {
            return "sha256:" + Hashes.sha256(Files.readAllBytes(unet));
        } catch (IOException e) {
            throw new MembraneException(unet + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** @param served the prepared UNet for the no-grad trajectory, or null to sample on the twin */
    public ObjectNode execute(NDManager manager, Engine engine, SchedulerConfig schedule, Conditioning conditioning, ServedUNet served,
                              Path out, int checkpointEvery, int microBatch, String deviceName) {
        long loadStart = System.nanoTime();
        LatentAnchoringTrainer.Result result;
        long loadMs;
        try (UNetTwin twin = UNetTwin.load(folder.unet(), manager); StopSignal stop = StopSignal.install()) {
            loadMs = (System.nanoTime() - loadStart) / 1_000_000;
            // loading went through a float[] per tensor on the heap (GBs on SD 1.5); return it before the activations need it
            System.gc();
            int first = resume == null ? 0 : resume.iteration();
            Progress bar = Progress.iterations("spm train");
            bar.start(first, spec.iterations());
            bar.message(String.format(java.util.Locale.ROOT, "%s, %d sites, twin loaded in %d ms, iterations %d..%d on %s",
                    String.join(",", spec.concepts()), twin.sites().size(), loadMs, first + 1, spec.iterations(), deviceName));
            try (LatentAnchoringTrainer trainer = new LatentAnchoringTrainer(twin, engine, schedule, conditioning, spec, served, microBatch)) {
                result = trainer.run(out, checkpointEvery, resume, unetIdentity(folder.unet()), new LatentAnchoringTrainer.Listener() {
                @Override
                public void iteration(int done, double lossErase, double lossAnchor) {
                    bar.update(done, String.format(java.util.Locale.ROOT, "erase %.4e anchor %.4e", lossErase, lossAnchor));
                }

                @Override
                public void message(String text) {
                    LOG.fine(text);
                }
            }, stop);
            }
        }
        ObjectNode n = summary(result, out, deviceName, loadMs);
        n.put("trajectory", served == null ? "twin" : "onnx");
        return n;
    }

    private ObjectNode summary(LatentAnchoringTrainer.Result r, Path out, String deviceName, long loadMs) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("out", out.toString());
        n.put("sha256", r.sha256());
        n.put("checkpoint", TrainingCheckpoint.stateFileFor(out).toString());
        ArrayNode concepts = n.putArray("concepts");
        spec.concepts().forEach(concepts::add);
        n.put("iterations", r.iterationsDone());
        n.put("startIteration", r.startIteration());
        n.put("interrupted", r.interrupted());
        n.set("lossErase", window(json, r.lossErase()));
        n.set("lossAnchor", window(json, r.lossAnchor()));
        n.put("msPerIteration", round(r.msPerIteration()));
        n.put("twinLoadMs", loadMs);
        n.put("peakRssMb", peakRssMb());
        n.put("device", deviceName);
        HeldOutCheck.Report h = r.heldOut();
        ObjectNode held = n.putObject("heldOut");
        held.put("samples", HeldOutCheck.SAMPLES);
        held.put("eraseDistanceUntrained", round(h.eraseUntrained()));
        held.put("eraseDistance", round(h.eraseDistance()));
        held.put("eraseReduction", round(h.reduction()));
        held.put("targetShift", round(h.targetShift()));
        ArrayNode unrelated = held.putArray("unrelated");
        for (int i = 0; i < spec.checkPrompts().size(); i++) {
            ObjectNode u = unrelated.addObject();
            u.put("prompt", spec.checkPrompts().get(i));
            u.put("shift", round(h.unrelatedShifts().get(i)));
            u.put("moveVsTarget", round(h.unrelatedToTarget().get(i)));
        }
        held.put("maxUnrelatedMoveVsTarget", round(h.maxUnrelatedToTarget()));
        n.set("spec", json.valueToTree(spec));
        return n;
    }

    /** Means of the first and last 50 iterations (fewer when the run is shorter). */
    private static ObjectNode window(ObjectMapper json, float[] values) {
        ObjectNode w = json.createObjectNode();
        int k = Math.min(WINDOW, values.length);
        double first = 0, last = 0;
        for (int i = 0; i < k; i++) {
            first += values[i];
            last += values[values.length - 1 - i];
        }
        w.put("first50", k == 0 ? 0 : first / k);
        w.put("last50", k == 0 ? 0 : last / k);
        return w;
    }

    /** VmHWM of /proc/self/status: the process's peak resident set (JVM heap, native weights, activations). */
    static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D+", "")) / 1024;
            }
        } catch (IOException | NumberFormatException e) {
            LOG.fine("no peak RSS: " + e.getMessage());
        }
        return -1;
    }

    private static double round(double v) {
        return Math.round(v * 1e6) / 1e6;
    }
}
