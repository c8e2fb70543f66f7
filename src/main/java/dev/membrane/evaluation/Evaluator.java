package dev.membrane.evaluation;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import dev.membrane.diffusion.GenerationRequest;
import dev.membrane.diffusion.GenerationResult;
import dev.membrane.diffusion.ImageSpec;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.StableDiffusionPipeline;
import dev.membrane.diffusion.scheduler.SchedulerConfig;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.evaluation.classifier.ConfusionMatrix;
import dev.membrane.evaluation.classifier.Head;
import dev.membrane.evaluation.classifier.Prediction;
import dev.membrane.evaluation.classifier.ShapesClassifier;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.reference.ReferencePreset;
import dev.membrane.spm.AdapterPipeline;
import dev.membrane.spm.PreparedUNets;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.transport.Transport;
import dev.membrane.world.Colour;
import dev.membrane.world.ShapeKind;
import dev.membrane.training.Progress;

/**
 * Runs an evaluation: generates images through the production path (a {@link StableDiffusionPipeline}, and for
 * adapters an {@link AdapterPipeline} over the UNet {@link dev.membrane.spm.UNetPreparer} prepared, exactly as
 * {@code generate --spm} does), classifies them with the {@link ShapesClassifier}, and measures. Base and moderated
 * images of a prompt share their seeds, so they start from the same noise. Several images share each UNet call.
 */
public final class Evaluator {
    private Evaluator() {
    }

    /** Opens the model and classifier, generates, measures; progress on {@code progress}. */
    public static EvaluationReport run(EvaluationSpec spec, OrtRuntime runtime, Progress progress) {
        long start = System.nanoTime();
        ModelFolder folder = ModelFolder.open(spec.model());
        int side = spec.size() > 0 ? spec.size() : ReferencePreset.defaultSide(folder, 64);
        SchedulerKind scheduler = spec.scheduler() != null ? spec.scheduler()
                : SchedulerKind.ofConfig(SchedulerConfig.load(folder.schedulerConfig()));
        try (ShapesClassifier classifier = ShapesClassifier.open(runtime, spec.classifier())) {
            if (spec.fidelity()) {
                try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(folder, folder.unet(), runtime)) {
                    Run run = new Run(spec, side, scheduler, pipeline, null, List.of(), classifier, progress);
                    return fidelity(run, settings(spec, run, List.of()), start);
                }
            }
            List<AdapterPipeline.AdapterRequest> adapters = new ArrayList<>();
            List<RunSettings.AdapterInfo> infos = new ArrayList<>();
            for (EvaluationSpec.AdapterSpec a : spec.adapters()) {
                SpmFile file = SpmFile.read(a.file());
                Transport t = Transport.weighted(spec.transport(), a.weight(), spec.transportFactor());
                adapters.add(new AdapterPipeline.AdapterRequest(file, t, a.file()));
                infos.add(new RunSettings.AdapterInfo(a.file().toString(), file.sha256(), file.prompts(), a.weight()));
            }
            int needed = spec.stacking().slotsNeeded(adapters.stream().map(a -> a.file().rank()).toList());
            Path prepared = PreparedUNets.ensure(folder, Math.max(spec.slots(), needed));
            try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(folder, prepared, runtime)) {
                AdapterPipeline ap = new AdapterPipeline(pipeline);
                Run run = new Run(spec, side, scheduler, pipeline, ap, adapters, classifier, progress);
                return erasure(run, settings(spec, run, infos), start);
            }
        }
    }

    private static RunSettings settings(EvaluationSpec spec, Run run, List<RunSettings.AdapterInfo> infos) {
        return new RunSettings(spec.model().toString(), spec.classifier().toString(), infos,
                spec.transport().name().toLowerCase(java.util.Locale.ROOT), spec.transportFactor(), spec.stacking().id(),
                spec.stacking().gammaPower(), spec.seeds(), spec.firstSeed(), spec.steps(), spec.guidance(), run.scheduler.id(),
                run.side, run.side, run.pipeline.target().device());
    }

    /** One evaluation's pipeline, classifier and settings; generates and classifies in batches. */
    private static final class Run {
        final EvaluationSpec spec;
        final int side;
        final SchedulerKind scheduler;
        final StableDiffusionPipeline pipeline;
        final AdapterPipeline adapterPipeline;
        final List<AdapterPipeline.AdapterRequest> adapters;
        final ShapesClassifier classifier;
        final Progress progress;
        double generateMs;
        double classifyMs;

        Run(EvaluationSpec spec, int side, SchedulerKind scheduler, StableDiffusionPipeline pipeline, AdapterPipeline adapterPipeline,
            List<AdapterPipeline.AdapterRequest> adapters, ShapesClassifier classifier, Progress progress) {
            this.spec = spec;
            this.side = side;
            this.scheduler = scheduler;
            this.pipeline = pipeline;
            this.adapterPipeline = adapterPipeline;
            this.adapters = adapters;
            this.classifier = classifier;
            this.progress = progress;
        }

        List<Long> seeds() {
            List<Long> s = new ArrayList<>();
            for (int i = 0; i < spec.seeds(); i++) s.add(spec.firstSeed() + i);
            return s;
        }

        /** Every (prompt, seed) of {@code prompts} × seeds, base or moderated, in that order. */
        List<Generated> generate(List<String> prompts, boolean moderated, int[] done, int total) {
            List<ImageSpec> specs = new ArrayList<>();
            for (String p : prompts) for (long s : seeds()) specs.add(new ImageSpec(p, "", s));
            List<Generated> out = new ArrayList<>();
            for (int from = 0; from < specs.size(); from += spec.batchImages()) {
                List<ImageSpec> chunk = specs.subList(from, Math.min(specs.size(), from + spec.batchImages()));
                GenerationRequest request = new GenerationRequest(chunk, side, side, spec.steps(), spec.guidance(), scheduler);
                long t0 = System.nanoTime();
                List<GenerationResult.GeneratedImage> images;
                List<List<Double>> gammas = new ArrayList<>();
                if (adapterPipeline == null) {
                    images = pipeline.generate(request).images();
                    for (int i = 0; i < chunk.size(); i++) gammas.add(List.of());
                } else {
                    List<AdapterPipeline.ImageStack> stacks = new ArrayList<>();
                    for (int i = 0; i < chunk.size(); i++) {
                        stacks.add(moderated ? new AdapterPipeline.ImageStack(adapters, spec.stacking()) : AdapterPipeline.ImageStack.none());
                    }
                    AdapterPipeline.Result r = adapterPipeline.generate(request, stacks);
                    images = r.generation().images();
                    for (List<AdapterPipeline.Applied> applied : r.applied()) {
                        gammas.add(applied.stream().map(a -> a.score().gamma()).toList());
                    }
                }
                List<BufferedImage> decoded = images.stream().map(i -> Images.decodePng(i.png())).toList();
                long t1 = System.nanoTime();
                List<Prediction> predictions = classifier.classify(decoded);
                long t2 = System.nanoTime();
                generateMs += (t1 - t0) / 1e6;
                classifyMs += (t2 - t1) / 1e6;
                for (int i = 0; i < chunk.size(); i++) {
                    out.add(new Generated(chunk.get(i).prompt(), chunk.get(i).seed(), moderated, decoded.get(i), predictions.get(i), gammas.get(i)));
                }
                done[0] += chunk.size();
                progress.update(done[0], moderated ? "moderated" : "base");
            }
            return out;
        }
    }

    private static EvaluationReport erasure(Run run, RunSettings settings, long start) {
        // concepts in the order the stack names them; each adapter index that names a concept
        Map<Concept, List<Integer>> concepts = new LinkedHashMap<>();
        for (int a = 0; a < run.adapters.size(); a++) {
            for (String prompt : run.adapters.get(a).file().prompts()) {
                concepts.computeIfAbsent(Concept.parse(prompt), c -> new ArrayList<>()).add(a);
            }
        }
        List<Concept> erased = List.copyOf(concepts.keySet());
        Map<Concept, PromptSet.Plan> plans = new LinkedHashMap<>();
        LinkedHashSet<String> prompts = new LinkedHashSet<>();
        for (Concept c : erased) {
            PromptSet.Plan plan = PromptSet.plan(c, erased);
            plans.put(c, plan);
            prompts.addAll(plan.target().prompts());
            plan.nonTargets().forEach(s -> prompts.addAll(s.prompts()));
        }
        List<String> promptList = List.copyOf(prompts);
        int total = 2 * promptList.size() * run.spec.seeds();
        run.progress.start(total);
        int[] done = {0};
        List<Generated> base = run.generate(promptList, false, done, total);
        List<Generated> moderated = run.generate(promptList, true, done, total);
        Map<String, List<Generated>> baseBy = byPrompt(base);
        Map<String, List<Generated>> moderatedBy = byPrompt(moderated);

        List<ErasureReport.ConceptResult> results = new ArrayList<>();
        for (Concept c : erased) {
            PromptSet.Plan plan = plans.get(c);
            List<Integer> own = concepts.get(c);
            ErasureReport.Rate target = rate(c, plan.target(), baseBy, moderatedBy, own);
            List<ErasureReport.Rate> nonTargets = new ArrayList<>();
            List<Generated> ntBase = new ArrayList<>();
            List<Generated> ntModerated = new ArrayList<>();
            for (PromptSet s : plan.nonTargets()) {
                nonTargets.add(rate(s.concept(), s, baseBy, moderatedBy, own));
                ntBase.addAll(collect(s.prompts(), baseBy));
                ntModerated.addAll(collect(s.prompts(), moderatedBy));
            }
            List<Generated> tBase = collect(plan.target().prompts(), baseBy);
            List<Generated> tModerated = collect(plan.target().prompts(), moderatedBy);
            results.add(new ErasureReport.ConceptResult(c, target, nonTargets, Metrics.frechet(ntBase, ntModerated),
                    Metrics.meanRms(ntBase, ntModerated), Metrics.meanRms(tBase, tModerated)));
        }
        // grid: every prompt, base and moderated (SPM) side by side for the first (up to) two seeds
        int shown = Math.min(2, run.spec.seeds());
        List<String> columns = new ArrayList<>();
        for (int s = 0; s < shown; s++) {
            columns.add("base " + (run.spec.firstSeed() + s));
            columns.add("SPM " + (run.spec.firstSeed() + s));
        }
        BufferedImage[][] cells = new BufferedImage[promptList.size()][columns.size()];
        for (int r = 0; r < promptList.size(); r++) {
            for (int s = 0; s < shown; s++) {
                cells[r][2 * s] = baseBy.get(promptList.get(r)).get(s).image();
                cells[r][2 * s + 1] = moderatedBy.get(promptList.get(r)).get(s).image();
            }
        }
        ErasureReport.Timings timings = new ErasureReport.Timings(run.generateMs, run.classifyMs, (System.nanoTime() - start) / 1e6);
        return new ErasureReport(settings, results, base.size() + moderated.size(), new ErasureReport.Grid(promptList, columns, cells), timings);
    }

    private static ErasureReport.Rate rate(Concept c, PromptSet set, Map<String, List<Generated>> base,
                                           Map<String, List<Generated>> moderated, List<Integer> adapters) {
        List<Generated> b = collect(set.prompts(), base);
        List<Generated> m = collect(set.prompts(), moderated);
        return new ErasureReport.Rate(c, set.prompts(), b.size(), Metrics.detectionRate(b, c), Metrics.detectionRate(m, c),
                Metrics.meanGamma(m, adapters));
    }

    private static List<Generated> collect(List<String> prompts, Map<String, List<Generated>> by) {
        List<Generated> out = new ArrayList<>();
        for (String p : prompts) out.addAll(by.get(p));
        return out;
    }

    private static Map<String, List<Generated>> byPrompt(List<Generated> images) {
        Map<String, List<Generated>> m = new LinkedHashMap<>();
        for (Generated g : images) m.computeIfAbsent(g.prompt(), k -> new ArrayList<>()).add(g);
        return m;
    }

    private static EvaluationReport fidelity(Run run, RunSettings settings, long start) {
        List<String> prompts = new ArrayList<>();
        List<int[]> truth = new ArrayList<>();
        for (ShapeKind s : ShapeKind.values()) {
            for (Colour c : Colour.values()) {
                prompts.add("a " + c.word() + " " + s.word());
                truth.add(new int[] {s.ordinal(), c.ordinal()});
            }
        }
        int total = prompts.size() * run.spec.seeds();
        run.progress.start(total);
        List<Generated> images = run.generate(prompts, false, new int[] {0}, total);
        Map<String, List<Generated>> by = byPrompt(images);
        ConfusionMatrix shapes = ConfusionMatrix.empty(Head.SHAPE.labels());
        ConfusionMatrix colours = ConfusionMatrix.empty(Head.COLOUR.labels());
        Map<String, Double> perPrompt = new LinkedHashMap<>();
        long right = 0;
        for (int i = 0; i < prompts.size(); i++) {
            int[] t = truth.get(i);
            long ok = 0;
            for (Generated g : by.get(prompts.get(i))) {
                int s = g.prediction().classOf(Head.SHAPE);
                int c = g.prediction().classOf(Head.COLOUR);
                shapes.add(t[0], s);
                colours.add(t[1], c);
                if (s == t[0] && c == t[1]) ok++;
            }
            right += ok;
            perPrompt.put(prompts.get(i), ok / (double) run.spec.seeds());
        }
        int shown = Math.min(8, run.spec.seeds());
        List<String> columns = new ArrayList<>();
        for (int s = 0; s < shown; s++) columns.add("seed " + (run.spec.firstSeed() + s));
        BufferedImage[][] cells = new BufferedImage[prompts.size()][shown];
        for (int r = 0; r < prompts.size(); r++) {
            for (int s = 0; s < shown; s++) cells[r][s] = by.get(prompts.get(r)).get(s).image();
        }
        ErasureReport.Timings timings = new ErasureReport.Timings(run.generateMs, run.classifyMs, (System.nanoTime() - start) / 1e6);
        return new FidelityReport(settings, images.size(), right / (double) images.size(), shapes, colours, perPrompt,
                new ErasureReport.Grid(prompts, columns, cells), timings);
    }
}
