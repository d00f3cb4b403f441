package dev.sluice.control;

import dev.sluice.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code sluice ARGS} in a child JVM, as a user runs it: for what needs a process of its own
 * (signals, exit codes, a restart). Its stderr goes to a file (no pipe that a busy test JVM could
 * leave unread), from which addresses are read, so configs can use port 0.
 */
final class ChildSluice implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on /?([0-9.]+):(\\d+)");
    private static final Pattern ADMIN = Pattern.compile("admin API on /?([0-9.]+):(\\d+)");

    private final Process process;
    private final Path stderrFile;

    private ChildSluice(Process process, Path stderrFile) {
        this.process = process;
        this.stderrFile = stderrFile;
    }

    /** Runs {@code sluice args}; its stderr is kept in {@code logDir}. */
    static ChildSluice start(Path logDir, String... args) throws IOException {
        Path stderr = Files.createTempFile(logDir, "sluice-", ".stderr");
        Process process = new ProcessBuilder(command(args))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile())
                .start();
        return new ChildSluice(process, stderr);
    }

    /** What a command ({@code sluice canary status ...}) run to its end printed, and its exit code. */
    record Ran(int exitCode, String stdout, String stderr) {}

    /** Runs {@code sluice args} in a child JVM to its end, as {@code bin/sluice args} runs it; its output is kept in {@code logDir}. */
    static Ran run(Path logDir, Duration timeout, String... args) throws IOException, InterruptedException {
        Path stdout = Files.createTempFile(logDir, "sluice-", ".stdout");
        Path stderr = Files.createTempFile(logDir, "sluice-", ".stderr");
        Process process = new ProcessBuilder(command(args)).redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile()).start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("sluice " + String.join(" ", args) + " still running after " + timeout);
        }
        return new Ran(process.exitValue(), Files.readString(stdout), Files.readString(stderr));
    }

    private static List<String> command(String... args) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        // The production logging (INFO to stderr), not the quiet one on the test classpath.
        command.add("-Dlogback.configurationFile=logback.xml");
        command.add("-Xmx256m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("dev.sluice.Sluice");
        command.addAll(List.of(args));
        return command;
    }

    /** The first listener, once the process has started listening and its admin API is up. */
    InetSocketAddress awaitStarted(Duration timeout) {
        Await.until(timeout, () -> (find(LISTENING).isPresent() && find(ADMIN).isPresent()) || !process.isAlive(),
                () -> "sluice to start; stderr:\n" + stderrText());
        if (!process.isAlive()) {
            throw new AssertionError("sluice exited with " + process.exitValue() + "; stderr:\n" + stderrText());
        }
        return find(LISTENING).orElseThrow();
    }

    AdminHttp admin() {
        return new AdminHttp(find(ADMIN).orElseThrow(() -> new AssertionError("no admin API yet:\n" + stderrText())));
    }

    private Optional<InetSocketAddress> find(Pattern pattern) {
        for (String line : stderr()) {
            Matcher m = pattern.matcher(line);
            if (m.find()) {
                return Optional.of(new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2))));
            }
        }
        return Optional.empty();
    }

    /** Waits for a log line containing {@code text} and returns it. */
    String awaitLog(Duration timeout, String text) {
        Await.until(timeout, () -> stderr().stream().anyMatch(l -> l.contains(text)),
                () -> "a log line with '" + text + "'; stderr so far:\n" + stderrText());
        return stderr().stream().filter(l -> l.contains(text)).findFirst().orElseThrow();
    }

    long pid() {
        return process.pid();
    }

    void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new AssertionError("kill -" + name + " failed");
        }
    }

    /** SIGTERM (what {@link Process#destroy()} sends on Linux). */
    void terminate() {
        process.destroy();
    }

    /** The exit code; fails if the process is still running after {@code timeout}. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("sluice still running after " + timeout + "; stderr:\n" + stderrText());
        }
        return process.exitValue();
    }

    List<String> stderr() {
        try {
            return Files.readAllLines(stderrFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String stderrText() {
        return String.join("\n", stderr());
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
