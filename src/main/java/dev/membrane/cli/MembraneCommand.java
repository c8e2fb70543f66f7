package dev.membrane.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import jakarta.inject.Inject;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code membrane}: with no command, runs the gateway (see {@link ServeCommand}). */
@TopCommand
@Command(name = "membrane", mixinStandardHelpOptions = true, versionProvider = MembraneCommand.VersionProvider.class,
        description = "Moderation gateway for text-to-image generation with SPM concept erasure.",
        subcommands = {ServeCommand.class, DemoCommand.class, ModelCommand.class, TokenizeCommand.class, GenerateCommand.class, EvaluateCommand.class, SpmCommand.class, ClassifierCommand.class, ClassifyCommand.class, BenchCommand.class})
public class MembraneCommand implements Callable<Integer> {
    @Inject
    ServeCommand serve;

    @Override
    public Integer call() throws Exception {
        return serve.call();
    }

    static class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = MembraneCommand.class.getPackage().getImplementationVersion();
            return new String[] {"membrane " + (v == null ? "dev" : v)};
        }
    }
}
