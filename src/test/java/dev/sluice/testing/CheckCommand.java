package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Sluice;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/** {@code bin/sluice check} run in process on a config a test wrote, as a user runs it before a deploy. */
public final class CheckCommand {
    private CheckCommand() {
    }

    /**
     * Writes {@code yaml} to {@code sluice.yaml} in {@code dir}, checks it, asserts it passed (exit
     * 0, nothing on stderr) and returns what it printed: {@code FILE: ok (N listeners, …)}.
     */
    public static Passed passes(Path dir, String yaml) throws IOException {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, yaml);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = new CommandLine(new Sluice()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute("check", "-c", file.toString());
        assertThat(err.toString()).isEmpty();
        assertThat(exit).isZero();
        return new Passed(file, out.toString());
    }

    /** The file checked and the check's output. */
    public record Passed(Path file, String output) {
        /** Asserts the summary line: {@code FILE: ok (SUMMARY)}. */
        public void says(String summary) {
            assertThat(output).isEqualTo(file + ": ok (" + summary + ")\n");
        }
    }
}
