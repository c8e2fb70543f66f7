package dev.membrane.cli;

import java.util.logging.Level;
import java.util.logging.Logger;

import dev.membrane.MembraneException;
import picocli.CommandLine;

/**
 * Turns a failed command into one line on stderr and exit status 1: users see what is wrong with which file, not
 * a stack trace (which goes to the log at debug level).
 */
final class CliErrorHandler implements CommandLine.IExecutionExceptionHandler {
    private static final Logger LOG = Logger.getLogger(CliErrorHandler.class.getName());

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parseResult) {
        LOG.log(Level.FINE, "command failed", e);
        String message = e instanceof MembraneException ? e.getMessage() : e.getClass().getSimpleName() + ": " + e.getMessage();
        cmd.getErr().println("membrane: error: " + oneLine(message));
        cmd.getErr().flush();
        return 1;
    }

    static String oneLine(String s) {
        return s == null ? "unknown error" : s.replaceAll("\\s*\\R\\s*", " ").strip();
    }
}
