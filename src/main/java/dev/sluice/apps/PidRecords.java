package dev.sluice.apps;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One file per running app process, {@code STATE_DIR/apps/NAME.pid}: its pid (which is also its
 * process group and session: each app runs under {@code setsid}) and start time. Written when the
 * app starts, removed when it is gone. A Sluice killed with SIGKILL cannot stop its apps; the next
 * Sluice on the same state directory reaps what its records name before it starts any app, so no
 * process outlives two runs. A record is trusted only while the pid still has the recorded start
 * time (or its group lives on, started since): a pid reused by another process is left alone.
 */
final class PidRecords {
    private static final Logger LOG = LoggerFactory.getLogger(PidRecords.class);
    /** How long a reaped app gets between SIGTERM and SIGKILL: it was left over, nothing is in flight. */
    private static final long REAP_GRACE_MILLIS = 2_000;

    /** Without a state directory: nothing is recorded, nothing reaped. */
    static final PidRecords NONE = new PidRecords(Optional.empty());

    private final Optional<Path> dir;

    private PidRecords(Optional<Path> dir) {
        this.dir = dir;
    }

    static PidRecords in(Path dir) {
        return new PidRecords(Optional.of(dir));
    }

    Optional<Path> directory() {
        return dir;
    }

    void write(String app, long pid, long startTicks, List<String> command) {
        if (dir.isEmpty()) {
            return;
        }
        try {
            Files.createDirectories(dir.get());
            Path file = dir.get().resolve(app + ".pid");
            Path tmp = dir.get().resolve(app + ".pid.tmp");
            Files.writeString(tmp, "pid=" + pid + "\nstart_ticks=" + startTicks + "\ncommand="
                    + String.join(" ", command).replace("\n", " ") + "\n");
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("app {}: cannot record pid {} in {}: {}; if Sluice is killed, it may outlive it", app, pid,
                    dir.get(), e.getMessage());
        }
    }

    void remove(String app, long pid) {
        if (dir.isEmpty()) {
            return;
        }
        Path file = dir.get().resolve(app + ".pid");
        // Only its own record: a newer process of the same app may have replaced it.
        if (read(file).map(r -> r.pid() == pid).orElse(false)) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("app {}: cannot remove {}: {}", app, file, e.getMessage());
            }
        }
    }

    /** A process left by an earlier run. */
    record Record(String app, long pid, long startTicks) {}

    /** Stops every process the records name that still runs (SIGTERM, then SIGKILL), and forgets them all. Returns what was reaped. */
    List<Record> reap() {
        List<Record> reaped = new ArrayList<>();
        if (dir.isEmpty() || !Files.isDirectory(dir.get())) {
            return reaped;
        }
        List<Path> files;
        try (var listed = Files.list(dir.get())) {
            files = listed.filter(p -> p.getFileName().toString().endsWith(".pid")).toList();
        } catch (IOException e) {
            LOG.warn("cannot list app pid records in {}: {}", dir.get(), e.getMessage());
            return reaped;
        }
        for (Path file : files) {
            read(file).ifPresent(r -> {
                boolean leaderIsOurs = ProcStat.of(r.pid()).map(s -> s.startTicks() == r.startTicks()).orElse(false);
                if (leaderIsOurs || ProcStat.groupAlive(r.pid(), r.startTicks())) {
                    LOG.warn("app {}: process group {} was left running by an earlier Sluice; stopping it", r.app(), r.pid());
                    Signals.group(r.pid(), "TERM");
                    long deadline = System.nanoTime() + REAP_GRACE_MILLIS * 1_000_000;
                    while (ProcStat.groupAlive(r.pid(), r.startTicks()) && System.nanoTime() < deadline) {
                        sleepBriefly();
                    }
                    Signals.group(r.pid(), "KILL");
                    reaped.add(r);
                }
            });
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("cannot remove {}: {}", file, e.getMessage());
            }
        }
        return reaped;
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Optional<Record> read(Path file) {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(file)) {
            p.load(in);
            String name = file.getFileName().toString();
            return Optional.of(new Record(name.substring(0, name.length() - ".pid".length()),
                    Long.parseLong(p.getProperty("pid", "")), Long.parseLong(p.getProperty("start_ticks", ""))));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
