package dev.membrane.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import dev.membrane.MembraneException;
import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.SpmFile;
import dev.membrane.training.twin.SiteAdapters;
import dev.membrane.training.twin.UNetTwin;

/**
 * SPM training with Latent Anchoring, the official {@code train_spm.py} recipe. Each iteration, with its own random
 * stream (seed, iteration), so a resumed run draws exactly what an uninterrupted one would:
 * <ol>
 *   <li>t_to ∈ [1, max_denoising_steps − 1]; fresh noise is denoised for t_to DDIM steps with the SPM active and
 *       CFG 3 on ("", target), without gradients;</li>
 *   <li>the training timestep is timesteps_1000[⌊t_to·1000/max_denoising_steps⌋];</li>
 *   <li>ε_pos (target) and ε_neu (surrogate) from the base UNet, conditional, without gradients; ε_tgt from the UNet
 *       with the SPM, with gradients;</li>
 *   <li>L_erase = MSE(ε_tgt, ε_neu − η(ε_pos − ε_neu));</li>
 *   <li>anchors: Gaussian [77, d] tensors, unit-normalised, scaled by U(0.8, 1.2)·‖c_target‖;
 *       L_anchor = MSE(ε_spm(x_t, a), ε_base(x_t, a)) over all of them;</li>
 *   <li>L = L_erase + λ·L_anchor; AdamW on the SPM factors only, cosine-with-restarts learning rate.</li>
 * </ol>
 * The official sampler interleaves [uncond, anchor] pairs and its guidance-1 split keeps only the second half of
 * the batch, so half the anchors are computed and discarded and an "uncond" term joins the loss; this trainer
 * anchors every anchor, conditionally, as the paper describes (README, "Training").
 */
public final class LatentAnchoringTrainer implements AutoCloseable {
    private final UNetTwin twin;
    private final Engine engine;
    private final TwinSampler sampler;
    private final Trajectory trajectory;
    private final Conditioning conditioning;
    private final TrainingSpec spec;
    private final double[] targetNorms;
    private final int microBatch;

    /**
     * @param twin         the UNet
     * @param engine       its engine (for gradient collection)
     * @param schedule     the model's scheduler configuration (for its betas)
     * @param conditioning the encoded prompts
     * @param spec         the recipe
     * @param served       the prepared UNet on ONNX Runtime for the no-grad trajectory, or null to sample on the twin
     */
    public LatentAnchoringTrainer(UNetTwin twin, Engine engine, dev.membrane.diffusion.scheduler.SchedulerConfig schedule,
                                  Conditioning conditioning, TrainingSpec spec, ServedUNet served) {
        this(twin, engine, schedule, conditioning, spec, served, 0);
    }

    /** @param microBatch rows per backward pass (0: the whole batch of target and anchors at once) */
    public LatentAnchoringTrainer(UNetTwin twin, Engine engine, dev.membrane.diffusion.scheduler.SchedulerConfig schedule,
                                  Conditioning conditioning, TrainingSpec spec, ServedUNet served, int microBatch) {
        this.microBatch = microBatch;
        this.twin = twin;
        this.engine = engine;
        this.conditioning = conditioning;
        this.spec = spec;
        this.sampler = new TwinSampler(twin, schedule, spec.latentSide(), conditioning);
        this.trajectory = served == null ? sampler : served.trajectory(sampler, conditioning, spec);
        targetNorms = conditioning.targets().stream().mapToDouble(Conditioning::norm).toArray();
    }

    /** Closes the served trajectory's session, if any (the twin belongs to the caller). */
    @Override
    public void close() {
        if (trajectory instanceof ServedTrajectory served) served.close();
    }

    /** What a run produced. */
    public record Result(int iterationsDone, int startIteration, boolean interrupted, float[] lossErase, float[] lossAnchor,
                         double msPerIteration, String sha256, HeldOutCheck.Report heldOut) {
    }

    /** Hears each finished iteration (progress) and each checkpoint. */
    public interface Listener {
        void iteration(int done, double lossErase, double lossAnchor);

        default void message(String text) {
        }
    }

    /**
     * Trains from {@code resume} (or from the official initialisation), writing the SPM to {@code out} and the
     * resumable state beside it every {@code checkpointEvery} iterations, when stopped, and at the end.
     */
    public Result run(Path out, int checkpointEvery, TrainingCheckpoint resume, String unetIdentity, Listener listener,
                      StopSignal stop) {
        List<AdapterSite> sites = twin.sites();
        SpmParameters spm = SpmParameters.initialise(sites, spec.rank(), spec.alpha(), spec.seed());
        AdamW adam = new AdamW();
        int start = 0;
        float[] erase = new float[spec.iterations()];
        float[] anchor = new float[spec.iterations()];
        if (resume != null) {
            start = restore(resume, spm, adam, unetIdentity);
            System.arraycopy(resume.lossErase(), 0, erase, 0, start);
            System.arraycopy(resume.lossAnchor(), 0, anchor, 0, start);
        }
        Path stateFile = TrainingCheckpoint.stateFileFor(out);
        TrainingCheckpoint.removeStaleTemporaries(out);
        TrainingCheckpoint.removeStaleTemporaries(stateFile);
        Map<String, long[]> shapes = shapes(sites);
        HeldOutCheck heldOut;
        try (NDManager m = twin.manager().newSubManager()) {
            heldOut = new HeldOutCheck(sampler, trajectory, conditioning, spec, m);
        }
        LearningRateSchedule lr = spec.schedule();
        long startNanos = System.nanoTime();
        int done = start;
        String sha = null;
        boolean interrupted = false;
        while (done < spec.iterations()) {
            float[] losses = iteration(done, spm, adam, lr.at(done));
            erase[done] = losses[0];
            anchor[done] = losses[1];
            done++;
            listener.iteration(done, losses[0], losses[1]);
            if (!Float.isFinite(losses[0]) || !Float.isFinite(losses[1])) {
                throw new MembraneException("training diverged at iteration " + done + " (loss " + losses[0] + ", " + losses[1]
                        + "); lower --lr or --anchor-strength");
            }
            interrupted = stop.requested() && done < spec.iterations();
            if (done % checkpointEvery == 0 || done == spec.iterations() || interrupted) {
                sha = save(out, stateFile, shapes, spm, adam, done, unetIdentity, erase, anchor);
                listener.message("checkpoint: " + out + " and " + stateFile + " at iteration " + done);
            }
            if (interrupted) break;
        }
        if (sha == null) sha = save(out, stateFile, shapes, spm, adam, done, unetIdentity, erase, anchor);
        double ms = done > start ? (System.nanoTime() - startNanos) / 1e6 / (done - start) : 0;
        HeldOutCheck.Report report;
        try (NDManager m = twin.manager().newSubManager()) {
            report = heldOut.measure(m, spm.bind(m, 1, false));
        }
        return new Result(done, start, interrupted, Arrays.copyOf(erase, done), Arrays.copyOf(anchor, done), ms, sha, report);
    }

    /** One iteration; returns {L_erase, L_anchor}. */
    private float[] iteration(int index, SpmParameters spm, AdamW adam, double learningRate) {
        SplittableRandom r = new SplittableRandom(spec.seed() * 0x9E3779B97F4A7C15L + index);
        int concept = r.nextInt(conditioning.targets().size());
        int total = spec.maxDenoisingSteps();
        int tTo = 1 + r.nextInt(total - 1);
        float[] noise = Gaussian.fill(r, sampler.latentElements());
        List<float[]> anchors = anchors(r, targetNorms[concept]);
        float[] target = conditioning.targets().get(concept);
        double[] timesteps = sampler.trainingTimesteps();
        try (NDManager m = twin.manager().newSubManager()) {
            float[] latent = trajectory.denoise(noise, tTo, total, target, spec.samplingGuidance(), spm);
            double t = timesteps[tTo * timesteps.length / total];
            List<float[]> baseContexts = new ArrayList<>(List.of(target, conditioning.surrogate()));
            baseContexts.addAll(anchors);
            // the base pass needs no graph: run it in its own manager and keep only its output
            float[] baseValues = sampler.predictValues(m, latent, t, baseContexts, SiteAdapters.NONE);
            float[] eraseTarget = sampler.eraseTarget(baseValues, 0, 1, spec.eraseGuidance());
            List<float[]> trainContexts = new ArrayList<>();
            trainContexts.add(target);
            trainContexts.addAll(anchors);
            Gradients g = gradients(m, spm, latent, t, trainContexts, eraseTarget, baseValues);
            adam.update(spm.tensors(), g.values(), learningRate);
            return new float[] {(float) g.lossErase(), (float) g.lossAnchor()};
        }
    }

    /** Summed gradients of L over the target and anchor rows, and the two losses. */
    record Gradients(Map<String, float[]> values, double lossErase, double lossAnchor) {
    }

    /**
     * L = MSE_erase + λ·mean over the anchors' elements. Row 0 (the target) weighs 1/n per element, each anchor row
     * λ/(A·n); each micro-batch's share of L is backpropagated on its own and the gradients summed, so the peak
     * activation memory follows the micro-batch, not the whole batch.
     */
    Gradients gradients(NDManager m, SpmParameters spm, float[] latent, double t, List<float[]> rows,
                                float[] eraseTarget, float[] baseValues) {
        int n = sampler.latentElements();
        int anchorsCount = rows.size() - 1;
        int micro = microBatch <= 0 ? rows.size() : microBatch;
        Map<String, float[]> gradients = null;
        double lossErase = 0;
        double lossAnchor = 0;
        for (int from = 0; from < rows.size(); from += micro) {
            int to = Math.min(rows.size(), from + micro);
            try (NDManager pass = m.newSubManager()) {
                SpmParameters.Bound trainable = spm.bind(pass, 1, true);
                float[] weights = new float[(to - from) * n];
                float[] targets = new float[(to - from) * n];
                for (int row = from; row < to; row++) {
                    float w = row == 0 ? 1f / n : (float) (spec.anchorStrength() / (anchorsCount * (double) n));
                    java.util.Arrays.fill(weights, (row - from) * n, (row - from + 1) * n, w);
                    // base rows: 0 target, 1 surrogate, 2.. anchors; so anchor row r is base row r + 1
                    System.arraycopy(row == 0 ? eraseTarget : baseValues, row == 0 ? 0 : (row + 1) * n, targets, (row - from) * n, n);
                }
                try (GradientCollector gc = engine.newGradientCollector()) {
                    NDArray predicted = sampler.predict(pass, latent, t, rows.subList(from, to), trainable);
                    NDArray squared = predicted.sub(pass.create(targets, predicted.getShape())).square();
                    gc.backward(squared.mul(pass.create(weights, predicted.getShape())).sum());
                    float[] sq = squared.toFloatArray();
                    for (int row = from; row < to; row++) {
                        double sum = 0;
                        for (int i = 0; i < n; i++) sum += sq[(row - from) * n + i];
                        if (row == 0) lossErase = sum / n;
                        else lossAnchor += sum / (anchorsCount * (double) n);
                    }
                }
                Map<String, float[]> g = trainable.gradients();
                if (gradients == null) {
                    gradients = g;
                } else {
                    for (var e : gradients.entrySet()) {
                        float[] add = g.get(e.getKey());
                        float[] v = e.getValue();
                        for (int i = 0; i < v.length; i++) v[i] += add[i];
                    }
                }
            }
        }
        return new Gradients(gradients, lossErase, lossAnchor);
    }

    /** Gaussian [length, width] tensors, unit-normalised, scaled by U(0.8, 1.2)·‖c_target‖; then any real anchor prompts. */
    private List<float[]> anchors(SplittableRandom r, double targetNorm) {
        List<float[]> out = new ArrayList<>();
        for (int a = 0; a < spec.anchors(); a++) {
            float[] g = Gaussian.fill(r, conditioning.elements());
            double scale = (0.8 + 0.4 * r.nextDouble()) * targetNorm / Conditioning.norm(g);
            for (int i = 0; i < g.length; i++) g[i] = (float) (g[i] * scale);
            out.add(g);
        }
        out.addAll(conditioning.anchorPrompts());
        return out;
    }

    private int restore(TrainingCheckpoint c, SpmParameters spm, AdamW adam, String unetIdentity) {
        if (!c.unet().equals(unetIdentity)) {
            throw new MembraneException("the checkpoint was trained on " + c.unet() + ", not on " + unetIdentity);
        }
        Map<String, float[]> live = spm.tensors();
        if (!live.keySet().equals(c.parameters().keySet())) {
            throw new MembraneException("the checkpoint's SPM modules do not match this UNet's sites");
        }
        for (var e : live.entrySet()) {
            float[] saved = c.parameters().get(e.getKey());
            if (saved.length != e.getValue().length) throw new MembraneException("checkpoint tensor " + e.getKey() + " has the wrong size");
            System.arraycopy(saved, 0, e.getValue(), 0, saved.length);
        }
        adam.restore(c.adamStep(), c.firstMoments(), c.secondMoments());
        if (c.iteration() > spec.iterations()) {
            throw new MembraneException("the checkpoint is at iteration " + c.iteration() + ", past --iterations " + spec.iterations());
        }
        return c.iteration();
    }

    private String save(Path out, Path stateFile, Map<String, long[]> shapes, SpmParameters spm, AdamW adam, int done,
                        String unetIdentity, float[] erase, float[] anchor) {
        new TrainingCheckpoint(done, spec, unetIdentity, spm.tensors(), adam.step(), adam.firstMoments(), adam.secondMoments(),
                Arrays.copyOf(erase, done), Arrays.copyOf(anchor, done)).write(stateFile, shapes);
        byte[] bytes = SpmFile.serialize(spec.concepts(), spm.sites(), spm.modules());
        TrainingCheckpoint.writeAtomically(out, bytes);
        return dev.membrane.Hashes.sha256(bytes);
    }

    /** The official shapes of every tensor name (4-D for 1x1-conv sites). */
    private Map<String, long[]> shapes(List<AdapterSite> sites) {
        Map<String, long[]> s = new LinkedHashMap<>();
        for (AdapterSite site : sites) {
            s.put(site.key() + ".lora_down.weight", site.downShape(spec.rank()));
            s.put(site.key() + ".lora_up.weight", site.upShape(spec.rank()));
        }
        return s;
    }
}
