package dev.membrane.onnx.reference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.MembraneException;
import dev.membrane.diffusion.scheduler.SchedulerKind;
import dev.membrane.onnx.graph.GraphBuilder;
import dev.membrane.onnx.graph.WeightStore;
import dev.membrane.tokenizer.BpeVocabularyTrainer;
import dev.membrane.tokenizer.ClipTokenizer;

/**
 * Writes a complete SD 1.x-structured model folder in the diffusers ONNX layout, with deterministic weights:
 * {@code model_index.json}, {@code scheduler/}, {@code tokenizer/}, {@code text_encoder/model.onnx},
 * {@code unet/model.onnx} (weights optionally in {@code unet/weights.pb}) and {@code vae_decoder/model.onnx}.
 * The same options give the same bytes.
 */
public final class ReferenceModelBuilder {
    /** UNets past this many bytes of weights go to external data (protobuf cannot hold 2 GB). */
    private static final long INLINE_LIMIT = 256L << 20;
    private static final int REFERENCE_MERGES = 800;
    private static final String[] TOKENIZER_FILES = {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"};

    /** Where UNet weights go. */
    public enum UNetWeights { AUTO, INLINE, EXTERNAL }

    /**
     * @param preset       sizes
     * @param tokenizerDir a real CLIP tokenizer folder to copy, or null for a small generated vocabulary
     * @param unetWeights  inline or external UNet weights ({@code AUTO}: external past 256 MB)
     * @param io           declared input/output types
     * @param seed         parameter seed
     * @param corpus       the text a generated vocabulary's merges are learned from (ignored with tokenizerDir)
     */
    public record Options(ReferencePreset preset, Path tokenizerDir, UNetWeights unetWeights, ModelIoTypes io, long seed,
                          String corpus) {
        public Options(ReferencePreset preset, Path tokenizerDir, UNetWeights unetWeights, ModelIoTypes io, long seed) {
            this(preset, tokenizerDir, unetWeights, io, seed, ReferenceCorpus.TEXT);
        }

        public static Options of(ReferencePreset preset) {
            return new Options(preset, null, UNetWeights.AUTO, ModelIoTypes.DIFFUSERS, 20240617L);
        }

        public Options withTokenizer(Path dir) {
            return new Options(preset, dir, unetWeights, io, seed, corpus);
        }

        public Options withUNetWeights(UNetWeights w) {
            return new Options(preset, tokenizerDir, w, io, seed, corpus);
        }

        public Options withIo(ModelIoTypes types) {
            return new Options(preset, tokenizerDir, unetWeights, types, seed, corpus);
        }

        public Options withSeed(long s) {
            return new Options(preset, tokenizerDir, unetWeights, io, s, corpus);
        }

        /** A generated vocabulary learned from {@code text} instead of the reference corpus. */
        public Options withCorpus(String text) {
            return new Options(preset, tokenizerDir, unetWeights, io, seed, text);
        }
    }

    private ReferenceModelBuilder() {
    }

    public static void build(Path out, Options options) {
        build(out, options, message -> { });
    }

    /** Builds into {@code out} (created if needed); {@code progress} hears one line per component. */
    public static void build(Path out, Options options, Consumer<String> progress) {
        try {
            Files.createDirectories(out);
            writeJson(out.resolve("model_index.json"), modelIndex(options));
            Files.createDirectories(out.resolve("scheduler"));
            writeJson(out.resolve("scheduler/scheduler_config.json"), schedulerConfig(options.preset().scheduler()));
            Path tokenizerDir = out.resolve("tokenizer");
            writeTokenizer(options.tokenizerDir(), options.corpus(), tokenizerDir);
            int vocabSize = ClipTokenizer.load(tokenizerDir).vocabSize();
            progress.accept("tokenizer: " + vocabSize + " tokens");
            ParameterInit init = new ParameterInit(options.seed());

            Path te = out.resolve("text_encoder/model.onnx");
            writeGraph(te, "text_encoder", WeightStore.inline(), init,
                    l -> new TextEncoderGraph(l, options.preset()).build(vocabSize, options.io()));
            progress.accept("text_encoder: " + Files.size(te) + " bytes");

            Path unet = out.resolve("unet/model.onnx");
            Files.createDirectories(unet.getParent());
            Path external = unet.resolveSibling("weights.pb");
            Files.deleteIfExists(external);
            boolean ext = switch (options.unetWeights()) {
                case INLINE -> false;
                case EXTERNAL -> true;
                case AUTO -> estimateUNetBytes(options.preset()) > INLINE_LIMIT;
            };
            writeGraph(unet, "unet", ext ? WeightStore.external(external) : WeightStore.inline(), init,
                    l -> new UNetGraph(l, options.preset()).build(options.io()));
            progress.accept("unet: " + Files.size(unet) + " bytes" + (ext ? " + weights.pb " + Files.size(external) + " bytes" : ""));

            Path vae = out.resolve("vae_decoder/model.onnx");
            writeGraph(vae, "vae_decoder", WeightStore.inline(), init,
                    l -> new VaeDecoderGraph(l, options.preset()).build(options.io()));
            progress.accept("vae_decoder: " + Files.size(vae) + " bytes");
        } catch (IOException e) {
            throw new MembraneException(out + ": cannot write reference model (" + e.getMessage() + ")");
        }
    }

    /** The UNet graph alone, its weights going to {@code store} (tests inspect structure without writing files). */
    public static ai.onnx.proto.OnnxMl.ModelProto unetModel(Options options, WeightStore store) {
        GraphBuilder g = new GraphBuilder("unet", store);
        try (store) {
            new UNetGraph(new Layers(g, new ParameterInit(options.seed())), options.preset()).build(options.io());
        }
        return g.build("membrane-reference");
    }

    /** Rough UNet parameter bytes: attention/ff blocks dominate alongside the 3x3 convolutions. */
    static long estimateUNetBytes(ReferencePreset p) {
        long sum = 0;
        for (int c : p.unetChannels()) sum += 12L * c * c * 9 + 16L * c * c;
        return sum * 4;
    }

    private static void writeGraph(Path file, String name, WeightStore store, ParameterInit init,
                                   Consumer<Layers> body) throws IOException {
        Files.createDirectories(file.getParent());
        GraphBuilder g = new GraphBuilder(name, store);
        try (store) {
            body.accept(new Layers(g, init));
        }
        GraphBuilder.write(g.build("membrane-reference"), file);
    }

    private static void writeTokenizer(Path source, String corpus, Path target) throws IOException {
        Files.createDirectories(target);
        if (source == null) {
            BpeVocabularyTrainer.write(BpeVocabularyTrainer.train(corpus, REFERENCE_MERGES), target);
            return;
        }
        for (String f : TOKENIZER_FILES) {
            Path src = source.resolve(f);
            if (Files.exists(src)) Files.copy(src, target.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            else if (!f.equals("special_tokens_map.json")) throw new MembraneException(src + ": missing tokenizer file");
        }
    }

    private static ObjectNode modelIndex(Options options) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("_class_name", "OnnxStableDiffusionPipeline");
        n.put("_diffusers_version", "0.24.0");
        n.put("_membrane_reference_preset", options.preset().id());
        for (var e : List.of(List.of("scheduler", "diffusers", options.preset().scheduler().diffusersClass()),
                List.of("text_encoder", "diffusers", "OnnxRuntimeModel"),
                List.of("tokenizer", "transformers", "CLIPTokenizer"),
                List.of("unet", "diffusers", "OnnxRuntimeModel"),
                List.of("vae_decoder", "diffusers", "OnnxRuntimeModel"))) {
            ArrayNode a = n.putArray(e.get(0));
            a.add(e.get(1));
            a.add(e.get(2));
        }
        return n;
    }

    /** SD 1.x's noise schedule and timestep spacing, under the sampler's diffusers class with that class's own fields. */
    private static ObjectNode schedulerConfig(SchedulerKind kind) {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("_class_name", kind.diffusersClass());
        n.put("_diffusers_version", "0.24.0");
        n.put("beta_end", 0.012);
        n.put("beta_schedule", "scaled_linear");
        n.put("beta_start", 0.00085);
        switch (kind) {
            case PNDM -> {
                n.put("clip_sample", false);
                n.put("num_train_timesteps", 1000);
                n.put("prediction_type", "epsilon");
                n.put("set_alpha_to_one", false);
                n.put("skip_prk_steps", true);
            }
            case EULER -> {
                n.put("interpolation_type", "linear");
                n.put("num_train_timesteps", 1000);
                n.put("prediction_type", "epsilon");
                n.put("use_karras_sigmas", false);
            }
            default -> throw new IllegalArgumentException("no reference scheduler configuration for " + kind);
        }
        n.put("steps_offset", 1);
        n.put("timestep_spacing", "leading");
        n.putNull("trained_betas");
        return n;
    }

    private static void writeJson(Path file, ObjectNode node) throws IOException {
        Files.writeString(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(node) + "\n");
    }
}
