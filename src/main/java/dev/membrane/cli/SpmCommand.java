package dev.membrane.cli;

import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.diffusion.ModelFolder;
import dev.membrane.diffusion.PromptEncoder;
import dev.membrane.diffusion.TextEncoderModel;
import dev.membrane.onnx.OrtRuntime;
import dev.membrane.spm.AdapterSite;
import dev.membrane.spm.AdapterSites;
import dev.membrane.spm.ClosedFormDerivation;
import dev.membrane.spm.SpmFile;
import dev.membrane.spm.UNetPreparer;
import dev.membrane.tokenizer.ClipTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code spm …}: SPM adapter files. */
@Command(name = "spm", description = "Inspect, derive and train SPM adapters.", mixinStandardHelpOptions = true,
        subcommands = {SpmCommand.Inspect.class, SpmCommand.Derive.class, SpmTrainCommand.class})
public class SpmCommand {

    /** {@code spm inspect FILE [--model DIR]}. */
    @Command(name = "inspect", mixinStandardHelpOptions = true, description = "Print an SPM file's identity and contents as JSON.")
    static class Inspect implements Callable<Integer> {
        @Parameters(paramLabel = "FILE", description = "The .safetensors file.")
        Path file;

        @Option(names = "--model", description = "Also match the file's keys against this model's UNet sites.")
        Path model;

        @Override
        public Integer call() {
            SpmFile spm = SpmFile.read(file);
            ObjectNode n = Json.object();
            n.put("file", file.toString());
            n.put("sha256", spm.sha256());
            n.put("rank", spm.rank());
            n.put("alpha", spm.alpha());
            ArrayNode prompts = n.putArray("prompts");
            spm.prompts().forEach(prompts::add);
            n.put("dtype", spm.dtype());
            n.put("modules", spm.modules().size());
            if (model != null) {
                ModelFolder folder = ModelFolder.open(model);
                List<AdapterSite> sites = AdapterSites.find(UNetPreparer.readModel(folder.unet()).getGraph());
                SpmFile.SiteMatch match = spm.match(sites);
                n.put("sitesMatched", match.matched().size());
                n.put("sitesUnmatched", match.unmatched().size());
                ArrayNode unmatched = n.putArray("unmatched");
                match.unmatched().forEach(s -> unmatched.add(s.key()));
            }
            System.out.println(Json.line(n));
            return 0;
        }
    }

    /** {@code spm derive --model DIR --concept TEXT [--surrogate TEXT] [--preserve TEXT]... [--lambda F] [--positions N] --out FILE}. */
    @Command(name = "derive", mixinStandardHelpOptions = true,
            description = "Derive a closed-form SPM (on every attn2 to_k/to_v) that maps a concept onto a surrogate.")
    static class Derive implements Callable<Integer> {
        @Inject
        MembraneConfig config;

        @Option(names = "--model", required = true, description = "Model folder whose text encoder and UNet the SPM is for.")
        Path model;

        @Option(names = "--concept", required = true, description = "The concept to erase (the adapter's target prompt).")
        String concept;

        @Option(names = "--surrogate", defaultValue = "", description = "What the concept maps to. Default: the empty prompt.")
        String surrogate;

        @Option(names = "--preserve", description = "A concept to keep intact; repeatable.")
        List<String> preserve = new ArrayList<>();

        @Option(names = "--lambda", defaultValue = "0.5", description = "Ridge term λ. Default: ${DEFAULT-VALUE}.")
        double lambda;

        @Option(names = "--positions", defaultValue = "1",
                description = "Token positions edited: the last token and the N-1 after it (EOS, padding); the adapter's rank. Default: ${DEFAULT-VALUE}.")
        int positions;

        @Option(names = "--out", required = true, description = "The .safetensors file to write.")
        Path out;

        @Override
        public Integer call() {
            ModelFolder folder = ModelFolder.open(model);
            ClosedFormDerivation.Spec spec = new ClosedFormDerivation.Spec(concept, surrogate, preserve, lambda, positions);
            long start = System.nanoTime();
            OrtRuntime runtime = OrtRuntime.create(config.runtimeConfig());
            ClosedFormDerivation.Derived d;
            try (TextEncoderModel text = new TextEncoderModel(runtime.open(folder.textEncoder(), "text encoder"))) {
                d = ClosedFormDerivation.derive(new PromptEncoder(ClipTokenizer.load(folder.tokenizer()), text), folder.unet(), spec);
            }
            String sha = SpmFile.write(out, List.of(concept), d.sites(), d.modules());
            ObjectNode n = Json.object();
            n.put("out", out.toString());
            n.put("sha256", sha);
            n.put("concept", concept);
            n.put("surrogate", surrogate);
            n.put("lambda", lambda);
            n.put("modules", d.modules().size());
            n.put("rank", positions);
            n.put("deriveMs", Json.round3((System.nanoTime() - start) / 1e6));
            System.out.println(Json.line(n));
            return 0;
        }
    }
}
