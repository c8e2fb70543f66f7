package dev.membrane.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.membrane.tokenizer.ClipTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tokenize --model DIR TEXT...}: one JSON line per text with its 77 input ids. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the CLIP input ids of each text, one JSON line per text.")
public class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "A model folder (its tokenizer/) or a tokenizer folder.")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "Texts to tokenize.")
    List<String> texts;

    @Override
    public Integer call() {
        Path dir = Files.exists(model.resolve("vocab.json")) ? model : model.resolve("tokenizer");
        ClipTokenizer tokenizer = ClipTokenizer.load(dir);
        StringBuilder out = new StringBuilder();
        for (String text : texts) {
            ObjectNode line = Json.object();
            line.put("text", text);
            ArrayNode ids = line.putArray("input_ids");
            for (int id : tokenizer.encode(text)) ids.add(id);
            out.append(Json.line(line)).append('\n');
        }
        System.out.print(out);
        System.out.flush();
        return 0;
    }
}
