package dev.sluice.apps;

import dev.sluice.config.AppConfig;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One run of an app's command: started under {@code setsid}, so the app leads a process group
 * and session of its own (its pid is the group's id) that Sluice signals as a whole, and that a
 * terminal's or Sluice's own process group signals never reach. Its stdout and stderr are appended
 * to the app's log file, where the last lines are read back for {@code /apps}.
 */
final class AppProcess {
    /** The last lines of output shown in {@code /apps} and logged when the app exits. */
    static final int TAIL_LINES = 10;
    private static final int TAIL_BYTES = 8192;

    private final Process process;
    private final long startTicks;
    private final Path log;

    private AppProcess(Process process, long startTicks, Path log) {
        this.process = process;
        this.startTicks = startTicks;
        this.log = log;
    }

    /** The argv that runs {@code app} on {@code port}: {@code setsid} first, {@code {port}} replaced. */
    static List<String> argv(AppConfig app, int port) {
        List<String> argv = new ArrayList<>();
        // setsid(1) without --fork calls setsid(2) and execs the command in place: the pid Java knows is the app's.
        argv.add("setsid");
        for (String arg : app.command()) {
            argv.add(arg.replace(AppConfig.PORT_PLACEHOLDER, Integer.toString(port)));
        }
        return argv;
    }

    static AppProcess start(AppConfig app, int port, Path log) throws IOException {
        Files.createDirectories(log.toAbsolutePath().getParent());
        ProcessBuilder builder = new ProcessBuilder(argv(app, port))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        app.workdir().ifPresent(dir -> builder.directory(dir.toFile()));
        Map<String, String> env = builder.environment();
        env.putAll(app.env());
        env.put("PORT", Integer.toString(port));
        Process process = builder.start();
        long ticks = ProcStat.of(process.pid()).map(ProcStat::startTicks).orElse(0L);
        return new AppProcess(process, ticks, log);
    }

    long pid() {
        return process.pid();
    }

    long startTicks() {
        return startTicks;
    }

    CompletableFuture<Process> onExit() {
        return process.onExit();
    }

    boolean alive() {
        return process.isAlive();
    }

    int exitCode() {
        return process.exitValue();
    }

    /**
     * SIGTERM to the group, up to {@code graceMillis} for the app to exit, then SIGKILL to whatever
     * is left of the group (workers of a master that exited first included). Blocks its caller,
     * the app's own thread.
     */
    void stop(long graceMillis) {
        Signals.group(pid(), "TERM");
        try {
            process.waitFor(graceMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Signals.group(pid(), "KILL");
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGKILL to the group of a process that already exited: its workers, if the master left them. */
    void killLeftovers() {
        if (ProcStat.groupAlive(pid(), startTicks)) {
            Signals.group(pid(), "KILL");
        }
    }

    /** The last lines the app wrote to its log (of this run or an earlier one). */
    List<String> lastLines() {
        return lastLines(log);
    }

    static List<String> lastLines(Path log) {
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            long length = file.length();
            long from = Math.max(0, length - TAIL_BYTES);
            byte[] bytes = new byte[(int) (length - from)];
            file.seek(from);
            file.readFully(bytes);
            List<String> lines = Arrays.asList(new String(bytes, StandardCharsets.UTF_8).split("\n"));
            if (from > 0 && !lines.isEmpty()) {
                // The first line is cut: drop it.
                lines = lines.subList(1, lines.size());
            }
            return List.copyOf(lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size()));
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }
}
