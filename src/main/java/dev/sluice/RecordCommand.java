package dev.sluice;

import dev.sluice.record.HarLines;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code sluice record export FILE...}: recordings (docs/recording.md) as one HAR 1.2 document, for browser tools. */
@Command(name = "record", mixinStandardHelpOptions = true, version = Sluice.VERSION,
        description = "Work with the files routes[].record writes.", subcommands = {RecordCommand.Export.class})
final class RecordCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return CommandLine.ExitCode.USAGE;
    }

    @Command(name = "export", mixinStandardHelpOptions = true, version = Sluice.VERSION,
            description = "Write the entries of recording files (JSON Lines, in the order given) to stdout as one "
                    + "HAR 1.2 document: sluice record export rec/*.jsonl > traffic.har")
    static final class Export implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(arity = "1..*", paramLabel = "FILE", description = "sluice-record-*.jsonl files")
        List<Path> files;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            for (Path file : files) {
                if (!Files.isReadable(file)) {
                    err.println(file + ": no such readable file");
                    err.flush();
                    return 1;
                }
            }
            try {
                int skipped = HarLines.export(files, out, Sluice.VERSION.substring("sluice ".length()));
                out.println();
                if (skipped > 0) {
                    // A file cut mid-line (a crash, a full disk) still exports what it holds whole.
                    err.println(skipped + " line(s) were not whole JSON entries and were left out");
                }
                return 0;
            } catch (IOException e) {
                err.println("export failed: " + e.getMessage());
                return 1;
            } finally {
                out.flush();
                err.flush();
            }
        }
    }
}
