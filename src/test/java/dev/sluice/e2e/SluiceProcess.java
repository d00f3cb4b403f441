package dev.sluice.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code sluice run -c FILE} in a child JVM, as a user runs it, with JVM options of the test's
 * choosing (a small heap, say). Listener addresses are read from its log, so configs can use
 * port 0.
 */
final class SluiceProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on /?([0-9.]+):(\\d+)");

    private final Process process;
    private final List<String> stderr = new CopyOnWriteArrayList<>();
    private final List<String> stdout = new CopyOnWriteArrayList<>();
    private final List<InetSocketAddress> listeners = new CopyOnWriteArrayList<>();

    private SluiceProcess(Process process) {
        this.process = process;
        Thread.ofVirtual().start(() -> pump(new BufferedReader(new InputStreamReader(process.getErrorStream(),
                StandardCharsets.UTF_8)), stderr, true));
        Thread.ofVirtual().start(() -> pump(new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8)), stdout, false));
    }

    static SluiceProcess run(String yaml, Path dir, List<String> jvmOptions) throws IOException {
        Path config = dir.resolve("sluice.yaml");
        Files.writeString(config, yaml);
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        // The production logging setup (INFO to stderr), not the quiet one on the test classpath.
        command.add("-Dlogback.configurationFile=logback.xml");
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("dev.sluice.Sluice");
        command.add("run");
        command.add("-c");
        command.add(config.toString());
        return new SluiceProcess(new ProcessBuilder(command).start());
    }

    private void pump(BufferedReader reader, List<String> sink, boolean scanListeners) {
        try (reader) {
            String line;
            while ((line = reader.readLine()) != null) {
                sink.add(line);
                Matcher m = LISTENING.matcher(line);
                if (scanListeners && m.find()) {
                    listeners.add(new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2))));
                }
            }
        } catch (IOException ignored) {
            // The process ended.
        }
    }

    /** The first listener's address, once the process says it listens. */
    InetSocketAddress awaitListening(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (listeners.isEmpty()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("sluice did not start listening; stderr:\n" + String.join("\n", stderr));
            }
            Thread.sleep(20);
        }
        return listeners.get(0);
    }

    /** SIGTERM, then the exit code. */
    int terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("sluice did not exit within " + timeout + " of SIGTERM");
        }
        return process.exitValue();
    }

    List<String> stderr() {
        return stderr;
    }

    List<String> stdout() {
        return stdout;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
