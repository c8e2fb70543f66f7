package dev.membrane.training.shapes;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEncoderModel;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.onnx.graph.InitializerValues;
import dev.membrane.onnx.reference.ReferenceModelBuilder;
import dev.membrane.onnx.reference.ReferencePreset;
import dev.membrane.spm.safetensors.SafeTensors;
import dev.membrane.spm.safetensors.Tensor;
import dev.membrane.tokenizer.ClipTokenizer;
import dev.membrane.training.twin.UNetTwin;
import dev.membrane.training.twin.VaeDecoderTwin;
import dev.membrane.world.ShapesWorld;

/**
 * {@code model train-shapes}: a small text-to-image model that renders what its caption says, trained from scratch
 * on the procedural shapes world and exported in the diffusers ONNX layout through the reference builder's graphs
 * (so generation, preparation, the gateway and SPM see an ordinary SD 1.x-topology model).
 *
 * <p>Stages: (1) the reference builder writes the graphs with initial weights and a tokenizer whose vocabulary is
 * learned from the world's captions; (2) the autoencoder trains (encoder here, decoder = the served one);
 * (3) the training images are encoded once; (4) the UNet trains with ε-prediction and caption dropout; (5) the
 * trained values are written into the graphs' initializers. The text encoder stays as the builder initialised it:
 * frozen, because a random transformer already gives each caption a distinct, stable embedding, which is all the
 * UNet's cross-attention needs, and because SPM then trains and transports against exactly the encoder it was
 * trained with. A fine-tune ({@code init}) starts from a trained model and skips what the recipe sets to 0 steps.
 */
public final class ShapesModelTrainer {
    public static final String ENCODER_FILE = "training/vae_encoder.safetensors";
    public static final String REPORT_FILE = "training/training.json";
    public static final String CURVES_FILE = "training/curves.png";
    public static final String RECONSTRUCTIONS_FILE = "training/vae-reconstructions.png";
    private static final List<String> MODEL_FILES = List.of("model_index.json", "scheduler/scheduler_config.json",
            "tokenizer/vocab.json", "tokenizer/merges.txt", "text_encoder/model.onnx", "unet/model.onnx",
            "vae_decoder/model.onnx", ENCODER_FILE);

    /** Where a run's summary goes: stage wall times, final losses, checksums. */
    public record Report(Path out, long seed, Map<String, Double> stageSeconds, Map<String, Double> finalLoss,
                         Map<String, String> sha256) {
    }

    private ShapesModelTrainer() {
    }

    /** What the report keeps of each trained stage, under the stage's name: wall time, final loss, curve. */
    private record Stages(Map<String, Double> seconds, Map<String, Double> losses, List<LossCurve> curves) {
        void add(LossCurve curve, double wallSeconds) {
            seconds.put(curve.stage(), wallSeconds);
            losses.put(curve.stage(), curve.last());
            curves.add(curve);
        }
    }

    /** The text the generated vocabulary is learned from: every caption the templates produce. */
    public static String captionCorpus() {
        return String.join(". ", ShapesWorld.allCaptions()) + ".";
    }

    /**
     * @param out          the model folder to write (created; replaced files only)
     * @param recipe       settings
     * @param tokenizerDir a CLIP tokenizer folder to use instead of the generated vocabulary, or null
     * @param init         a trained shapes model to fine-tune from, or null to train from scratch
     * @param runtime      ONNX Runtime, for the frozen text encoder
     * @param engine       DJL's PyTorch engine
     */
    public static Report train(Path out, ShapesRecipe recipe, Path tokenizerDir, Path init, OrtRuntime runtime,
                               Engine engine, PrintStream log) {
        long start = System.nanoTime();
        Map<String, Double> seconds = new LinkedHashMap<>();
        Map<String, Double> losses = new LinkedHashMap<>();
        List<LossCurve> curves = new ArrayList<>();
        Stages trained = new Stages(seconds, losses, curves);
        prepareFolder(out, recipe, tokenizerDir, init);
        ModelFolder.recordImageSize(out, recipe.imageSize());
        seconds.put("graphs", elapsed(start));
        ShapesWorld world = new ShapesWorld(recipe.palette());
        try (NDManager root = engine.newBaseManager()) {
            VaeEncoder encoder;
            float latentScale;
            if (recipe.vaeSteps() > 0) {
                Path decoderFile = out.resolve("vae_decoder/model.onnx");
                try (VaeDecoderTwin decoder = VaeDecoderTwin.load(decoderFile, root)) {
                    VaeStage.Result vae = VaeStage.train(engine, root, decoder, world, recipe, log);
                    encoder = vae.encoder();
                    latentScale = vae.latentScale();
                    InitializerValues.replace(decoderFile, VaeStage.exportedDecoder(decoder, latentScale));
                    // a decoder stage redraws them after its refinement
                    if (recipe.decoderSteps() == 0) {
                        VaeStage.writeReconstructions(out.resolve(RECONSTRUCTIONS_FILE), encoder, 1f, decoder, world, recipe, root);
                    }
                    trained.add(vae.curve(), vae.seconds());
                }
                writeEncoder(out.resolve(ENCODER_FILE), encoder, latentScale, recipe);
            } else {
                if (init == null) throw new MembraneException("a recipe without VAE steps needs a trained model to start from (--init)");
                encoder = new VaeEncoder(root, 0);
                latentScale = readEncoder(out.resolve(ENCODER_FILE), encoder);
            }
            // the latent dataset serves the UNet alone
            if (recipe.unetSteps() > 0) {
                long dataStart = System.nanoTime();
                LatentDataset data;
                try (TextEncoderModel text = new TextEncoderModel(runtime.open(out.resolve("text_encoder/model.onnx"), "text encoder"))) {
                    PromptEncoder prompts = new PromptEncoder(ClipTokenizer.load(out.resolve("tokenizer")), text);
                    data = LatentDataset.build(encoder, latentScale, world, prompts, recipe, root, log);
                }
                seconds.put("data", elapsed(dataStart));
                Path unetFile = out.resolve("unet/model.onnx");
                trainUNetRound(engine, root, unetFile, data, recipe, "unet", trained, log);
                if (recipe.unetRound2Steps() > 0) {
                    // the second round starts from the exported average, read back from the file as --init would
                    trainUNetRound(engine, root, unetFile, data, recipe.secondRound(), "unet-2", trained, log);
                }
            }
            if (recipe.decoderSteps() > 0) {
                Path decoderFile = out.resolve("vae_decoder/model.onnx");
                try (VaeDecoderTwin decoder = VaeDecoderTwin.load(decoderFile, root)) {
                    VaeStage.Result refined = VaeStage.refineDecoder(engine, root, decoder, encoder, latentScale, world, recipe, log);
                    InitializerValues.replace(decoderFile, VaeStage.exportedDecoder(decoder, 1f));
                    VaeStage.writeReconstructions(out.resolve(RECONSTRUCTIONS_FILE), encoder, latentScale, decoder, world, recipe, root);
                    trained.add(refined.curve(), refined.seconds());
                }
            }
        }
        seconds.put("total", elapsed(start));
        try {
            Files.createDirectories(out.resolve("training"));
        } catch (IOException e) {
            throw new MembraneException(out + ": cannot create training/ (" + e.getMessage() + ")");
        }
        TrainingCurves.write(out.resolve(CURVES_FILE), curves);
        Report report = new Report(out, recipe.seed(), seconds, losses, checksums(out));
        writeReport(out.resolve(REPORT_FILE), report, recipe, init, curves);
        return report;
    }

    /** Trains one UNet round from the weights in {@code unetFile} and writes its average back into it. */
    private static void trainUNetRound(Engine engine, NDManager root, Path unetFile, LatentDataset data, ShapesRecipe recipe,
                                       String stage, Stages trained, PrintStream log) {
        try (UNetTwin twin = UNetTwin.load(unetFile, root)) {
            UNetStage.Snapshots snapshots = new UNetStage.Snapshots() {
                @Override
                public int every() {
                    return Math.max(0, recipe.unetSteps() / 8);
                }

                @Override
                public void accept(int step, Map<String, float[]> weights) {
                    InitializerValues.replace(unetFile, weights);
                    log.printf("train-shapes %s: step %d written to %s (sample it with generate while training goes on)%n", stage, step, unetFile);
                }
            };
            UNetStage.Result unet = UNetStage.train(engine, twin, data, recipe, stage, log, snapshots);
            InitializerValues.replace(unetFile, unet.weights());
            trained.add(unet.curve(), unet.seconds());
        }
    }

    /**
     * Folds a later stage run ({@code --init model --out stage}, e.g. the decoder refinement run on its own) back into
     * {@code model}: the stage's changed files are copied over, and the report gains the stage's wall time, loss and
     * curve, with fresh checksums. Stages draw from their own random streams and start from the exported files, so
     * the result is what one run of the whole recipe writes.
     */
    public static Report combine(Path model, Path stage) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try {
            ObjectNode base = (ObjectNode) json.readTree(model.resolve(REPORT_FILE).toFile());
            ObjectNode later = (ObjectNode) json.readTree(stage.resolve(REPORT_FILE).toFile());
            requireStageOf(model, stage, later);
            // what the stage run trained replaces the model's file; the rest is the model's own, copied from it
            JsonNode trained = later.path("stageSeconds");
            List<String> changed = new ArrayList<>();
            if (trained.has("unet") || trained.has("unet-2")) changed.add("unet/model.onnx");
            if (trained.has("decoder")) changed.addAll(List.of("vae_decoder/model.onnx", RECONSTRUCTIONS_FILE));
            for (String f : changed) Files.copy(stage.resolve(f), model.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            ObjectNode seconds = (ObjectNode) base.get("stageSeconds");
            ObjectNode loss = (ObjectNode) base.get("finalLoss");
            ObjectNode curves = (ObjectNode) base.get("curves");
            ObjectNode recipe = (ObjectNode) base.get("recipe");
            double total = seconds.path("total").asDouble();
            seconds.remove("total");
            for (var it = later.get("stageSeconds").fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().equals("graphs") || e.getKey().equals("total")) continue;
                // a stage the model already ran continues it (e.g. more decoder steps): both are kept, in order
                String name = continuedName(e.getKey(), seconds);
                JsonNode steps = later.path("recipe").path(e.getKey() + "Steps");
                if (name.equals(e.getKey())) {
                    if (steps.isNumber()) recipe.set(e.getKey() + "Steps", steps);
                } else {
                    ArrayNode continued = recipe.has("continued") ? (ArrayNode) recipe.get("continued") : recipe.putArray("continued");
                    ObjectNode entry = continued.addObject().put("stage", name).put("continues", e.getKey());
                    if (steps.isNumber()) entry.set("steps", steps);
                }
                seconds.put(name, e.getValue().asDouble());
                total += e.getValue().asDouble();
                if (later.path("finalLoss").has(e.getKey())) loss.set(name, later.get("finalLoss").get(e.getKey()));
                if (later.path("curves").has(e.getKey())) curves.set(name, later.get("curves").get(e.getKey()));
            }
            seconds.put("total", total);
            ArrayNode from = base.has("combinedFrom") && base.get("combinedFrom").isArray()
                    ? (ArrayNode) base.get("combinedFrom") : base.putArray("combinedFrom");
            from.add(stage.toString());
            Map<String, String> sums = checksums(model);
            base.set("sha256", json.valueToTree(sums));
            Files.writeString(model.resolve(REPORT_FILE), json.writeValueAsString(base) + "\n");
            List<LossCurve> drawn = new ArrayList<>();
            curves.fields().forEachRemaining(e -> {
                LossCurve c = new LossCurve(e.getKey(), 1);
                for (var p : e.getValue()) c.add(p.get(0).asInt(), p.get(1).asDouble());
                drawn.add(c);
            });
            TrainingCurves.write(model.resolve(CURVES_FILE), drawn);
            Map<String, Double> s = new LinkedHashMap<>();
            seconds.fields().forEachRemaining(e -> s.put(e.getKey(), e.getValue().asDouble()));
            Map<String, Double> l = new LinkedHashMap<>();
            loss.fields().forEachRemaining(e -> l.put(e.getKey(), e.getValue().asDouble()));
            return new Report(model, base.path("seed").asLong(), s, l, sums);
        } catch (IOException e) {
            throw new MembraneException(model + ": cannot combine with " + stage + " (" + e.getMessage() + ")");
        }
    }

    /**
     * A stage folder is only what a finished {@code --init model} run wrote: its report names the model as its
     * {@code init}. A run still under way (or killed) has the copy of the model's own report that {@code --init}
     * starts from, which names no init or another one; folding it in would merge the model with itself.
     */
    private static void requireStageOf(Path model, Path stage, JsonNode later) throws IOException {
        if (model.toRealPath().equals(stage.toRealPath())) throw new MembraneException("--combine " + stage + " is the model itself");
        String init = later.path("init").asText("");
        boolean named = !init.isEmpty() && Files.exists(Path.of(init)) && Path.of(init).toRealPath().equals(model.toRealPath());
        if (!named) {
            throw new MembraneException(stage + " is not a finished stage run of " + model + ": its " + REPORT_FILE
                    + (init.isEmpty() ? " names no --init" : " names --init " + init)
                    + " (a run still under way or killed has a copy of the model's own report)");
        }
    }

    /** {@code stage} itself when the report has no such stage yet, else the next free {@code stage-2}, {@code stage-3}, … */
    private static String continuedName(String stage, JsonNode stageSeconds) {
        if (!stageSeconds.has(stage)) return stage;
        int n = 2;
        while (stageSeconds.has(stage + "-" + n)) n++;
        return stage + "-" + n;
    }

    private static void prepareFolder(Path out, ShapesRecipe recipe, Path tokenizerDir, Path init) {
        if (init != null) {
            copyTree(init, out);
            return;
        }
        ReferenceModelBuilder.build(out, ReferenceModelBuilder.Options.of(ReferencePreset.SHAPES)
                .withSeed(recipe.seed()).withCorpus(captionCorpus()).withTokenizer(tokenizerDir)
                .withUNetWeights(ReferenceModelBuilder.UNetWeights.INLINE));
    }

    private static void copyTree(Path from, Path to) {
        if (from.toAbsolutePath().normalize().equals(to.toAbsolutePath().normalize())) {
            throw new MembraneException("--init and --out are the same folder; fine-tune into a new one");
        }
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(target);
                else Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new MembraneException(from + ": cannot copy the initial model (" + e.getMessage() + ")");
        }
    }

    private static void writeEncoder(Path file, VaeEncoder encoder, float latentScale, ShapesRecipe recipe) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : encoder.tensors().entrySet()) {
            tensors.put(e.getKey(), Tensor.f32(e.getValue().toFloatArray(), e.getValue().getShape().getShape()));
        }
        try {
            Files.createDirectories(file.getParent());
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot create folder (" + e.getMessage() + ")");
        }
        SafeTensors.write(file, Map.of("latent_scale", Float.toString(latentScale), "seed", Long.toString(recipe.seed()),
                "note", "the shapes model's VAE encoder (training only): raw SD latent = encoder output x latent_scale"), tensors);
    }

    private static float readEncoder(Path file, VaeEncoder encoder) {
        if (!Files.isRegularFile(file)) throw new MembraneException(file + ": the initial model has no VAE encoder (train it with train-shapes first)");
        SafeTensors.Contents c = SafeTensors.read(file);
        for (Map.Entry<String, NDArray> e : encoder.tensors().entrySet()) {
            Tensor t = c.tensors().get(e.getKey());
            if (t == null || t.values().length != e.getValue().size()) throw new MembraneException(file + ": tensor " + e.getKey() + " is missing or has the wrong size");
            e.getValue().set(t.values());
        }
        return Float.parseFloat(c.metadata().get("latent_scale"));
    }

    static Map<String, String> checksums(Path out) {
        Map<String, String> sums = new LinkedHashMap<>();
        for (String f : MODEL_FILES) {
            Path p = out.resolve(f);
            if (Files.isRegularFile(p)) sums.put(f, sha256(p));
        }
        return sums;
    }

    static String sha256(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new MembraneException(file + ": cannot hash (" + e.getMessage() + ")");
        }
    }

    private static void writeReport(Path file, Report report, ShapesRecipe recipe, Path init, List<LossCurve> curves) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode n = json.createObjectNode();
        n.put("seed", recipe.seed());
        n.set("recipe", json.valueToTree(Map.ofEntries(
                Map.entry("palette", recipe.palette().id()), Map.entry("imageSize", recipe.imageSize()),
                Map.entry("vaeSteps", recipe.vaeSteps()), Map.entry("vaeBatch", recipe.vaeBatch()),
                Map.entry("vaeLearningRate", recipe.vaeLearningRate()), Map.entry("datasetSize", recipe.datasetSize()),
                Map.entry("unetSteps", recipe.unetSteps()), Map.entry("unetBatch", recipe.unetBatch()),
                Map.entry("unetLearningRate", recipe.unetLearningRate()), Map.entry("captionDropout", recipe.captionDropout()),
                Map.entry("emaDecay", recipe.emaDecay()), Map.entry("decoderSteps", recipe.decoderSteps()),
                Map.entry("unetRound2Steps", recipe.unetRound2Steps()))));
        if (init != null) {
            n.put("init", init.toString());
            // a fine-tune or a later stage keeps the record of the run it started from
            Path previous = init.resolve(REPORT_FILE);
            if (Files.isRegularFile(previous)) {
                try {
                    n.set("initReport", json.readTree(previous.toFile()));
                } catch (IOException e) {
                    throw new MembraneException(previous + ": cannot read (" + e.getMessage() + ")");
                }
            }
        }
        n.set("stageSeconds", json.valueToTree(report.stageSeconds()));
        n.set("finalLoss", json.valueToTree(report.finalLoss()));
        n.set("sha256", json.valueToTree(report.sha256()));
        ObjectNode c = n.putObject("curves");
        for (LossCurve curve : curves) {
            ArrayNode a = c.putArray(curve.stage());
            for (double[] p : curve.points()) a.addArray().add((int) p[0]).add(p[1]);
        }
        try {
            Files.writeString(file, json.writeValueAsString(n) + "\n");
        } catch (IOException e) {
            throw new MembraneException(file + ": cannot write the training report (" + e.getMessage() + ")");
        }
    }

    private static double elapsed(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
