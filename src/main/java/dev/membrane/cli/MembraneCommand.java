package dev.membrane.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import jakarta.inject.Inject;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code membrane}: with no command, runs the demo (see {@link DemoCommand}). */
@TopCommand
@Command(name = "membrane", mixinStandardHelpOptions = true, versionProvider = MembraneCommand.VersionProvider.class,
        description = "Moderation gateway for text-to-image generation with SPM concept erasure.",
        subcommands = {DemoCommand.class, ModelCommand.class, TokenizeCommand.class, GenerateCommand.class, SpmCommand.class, BenchCommand.class})
public class MembraneCommand implements Callable<Integer> {
    @Inject
    DemoCommand demo;

    @Override
    public Integer call() throws Exception {
        return demo.call();
    }

    static class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = MembraneCommand.class.getPackage().getImplementationVersion();
            return new String[] {"membrane " + (v == null ? "dev" : v)};
        }
    }
}
