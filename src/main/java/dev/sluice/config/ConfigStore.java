package dev.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Every config Sluice applied, numbered from 1, kept in a state directory so that a restart, a
 * rollback and an operator all see the same history:
 *
 * <pre>
 * STATE_DIR/versions.json        the index: current version, every version's metadata, recent refusals
 * STATE_DIR/configs/000007.yaml  the exact text of version 7
 * STATE_DIR/instance.json        pid and admin address of the process using it (for `sluice rollback`)
 * STATE_DIR/lock                 locked while a process uses the directory; holds that process's pid
 * </pre>
 *
 * Files are replaced atomically (written aside, then renamed), so a crash leaves the previous
 * index, never half of one. One process at a time: a second is refused, because two writers
 * would each believe their own "current", and a rollback in one could apply the other's config.
 */
public final class ConfigStore implements AutoCloseable {
    /** The texts of the last 50 versions are kept (and always the last known good's): enough
     * history to roll back past a bad afternoon of reloads, while the directory stays small. */
    static final int KEEP_TEXTS = 50;
    /** The last 20 refused configs are listed, to show what was tried; their text is not kept. */
    static final int KEEP_REFUSED = 20;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String INDEX = "versions.json";
    private static final String INSTANCE = "instance.json";
    private static final String LOCK = "lock";

    /** The state directory is locked by another running process. */
    public static final class InUseException extends IOException {
        InUseException(String message) {
            super(message);
        }
    }

    /** A config that was not applied: when, from where, and why. */
    public record Refusal(Instant at, String source, String sha256, List<String> errors) {
        public Refusal {
            errors = List.copyOf(errors);
        }
    }

    private final Optional<Path> dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final List<ConfigVersion> versions = new ArrayList<>();
    private final List<Refusal> refusals = new ArrayList<>();
    /** Texts of versions when there is no directory to keep them in. */
    private final Map<Integer, String> texts = new HashMap<>();
    private int current;

    private ConfigStore(Optional<Path> dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** A store that forgets everything when the process exits (the demo, or no writable directory). */
    public static ConfigStore inMemory() {
        return new ConfigStore(Optional.empty(), null, null);
    }

    /**
     * Opens (creating it if needed) and locks the state directory {@code dir}.
     *
     * @throws IOException when it cannot be created or written, is in use by another process, or
     *     its index cannot be read
     */
    public static ConfigStore open(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("configs"));
        Path lockFile = dir.resolve(LOCK);
        // Not TRUNCATE_EXISTING: the file may be locked by its holder, whose pid in it is the answer.
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException sameProcess) {
            lock = null;
        }
        if (lock == null) {
            channel.close();
            throw new InUseException("state directory " + dir + " is in use by another running sluice ("
                    + holder(dir) + "); stop it first, or give each process its own --state-dir");
        }
        ConfigStore store = new ConfigStore(Optional.of(dir), channel, lock);
        try {
            // The pid goes in the locked file itself, at once: instance.json is written only once
            // the admin API is up, and one left by a killed process names a pid long gone.
            channel.truncate(0);
            ByteBuffer pid = ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII));
            for (long at = 0; pid.hasRemaining(); ) {
                at += channel.write(pid, at);
            }
        } catch (IOException e) {
            store.close();
            throw new IOException("cannot write " + lockFile + ": " + e.getMessage(), e);
        }
        try {
            store.readIndex();
        } catch (IOException | RuntimeException e) {
            store.close();
            throw new IOException("cannot read " + dir.resolve(INDEX) + ": " + e.getMessage(), e);
        }
        return store;
    }

    /**
     * Who holds {@code dir}'s lock: the pid it wrote in the lock file, and the admin address from
     * {@code instance.json} when that was written by the same process.
     */
    private static String holder(Path dir) {
        String pid;
        try {
            pid = Files.readString(dir.resolve(LOCK), StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            pid = "";
        }
        if (pid.isEmpty()) {
            return "pid not yet recorded";
        }
        String lockPid = pid;
        Optional<String> admin = readInstance(dir).filter(i -> i.path("pid").asText().equals(lockPid))
                .map(i -> i.path("admin").asText("")).filter(a -> !a.isEmpty());
        return "pid " + pid + admin.map(a -> ", admin " + a).orElse("");
    }

    public Optional<Path> directory() {
        return dir;
    }

    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JVM has SHA-256", e);
        }
    }

    /**
     * Records {@code text} as the next version, now current and baking.
     *
     * @throws IOException when it cannot be written; the version is current in memory all the same
     */
    public synchronized ConfigVersion add(String text, String source, Instant at, Optional<Integer> restoredFrom)
            throws IOException {
        int number = versions.isEmpty() ? 1 : versions.get(versions.size() - 1).number() + 1;
        ConfigVersion version = new ConfigVersion(number, at, source, sha256(text), ConfigVersion.Outcome.BAKING,
                restoredFrom, 0, 0, "serving; bake period not over");
        // In memory first: if the disk fails below, the running process still knows what runs.
        versions.add(version);
        current = number;
        if (dir.isPresent()) {
            writeAtomically(textPath(number), text);
        } else {
            texts.put(number, text);
        }
        pruneTexts();
        writeIndex();
        return version;
    }

    /** Marks an existing version current again (a restart with the same text). */
    public synchronized void makeCurrent(int number) throws IOException {
        version(number).orElseThrow();
        current = number;
        writeIndex();
    }

    /** Records a config that was refused; its text is not kept. */
    public synchronized void refused(String text, String source, Instant at, List<String> errors) throws IOException {
        refusals.add(new Refusal(at, source, sha256(text), errors.stream().limit(20).toList()));
        while (refusals.size() > KEEP_REFUSED) {
            refusals.remove(0);
        }
        writeIndex();
    }

    /** Changes version {@code number}'s outcome and counts; returns the updated version. */
    public synchronized ConfigVersion update(int number, UnaryOperator<ConfigVersion> change) throws IOException {
        for (int i = 0; i < versions.size(); i++) {
            if (versions.get(i).number() == number) {
                ConfigVersion updated = change.apply(versions.get(i));
                versions.set(i, updated);
                pruneTexts();
                writeIndex();
                return updated;
            }
        }
        throw new IllegalArgumentException("no version " + number);
    }

    public synchronized List<ConfigVersion> versions() {
        return List.copyOf(versions);
    }

    public synchronized List<Refusal> refusals() {
        return List.copyOf(refusals);
    }

    public synchronized Optional<ConfigVersion> version(int number) {
        return versions.stream().filter(v -> v.number() == number).findFirst();
    }

    /** The version serving now (or, on start, the one that served last). */
    public synchronized Optional<ConfigVersion> current() {
        return version(current);
    }

    /** The newest version that served its bake period without its error ratio rising. */
    public synchronized Optional<ConfigVersion> lastKnownGood() {
        for (int i = versions.size() - 1; i >= 0; i--) {
            if (versions.get(i).outcome() == ConfigVersion.Outcome.GOOD) {
                return Optional.of(versions.get(i));
            }
        }
        return Optional.empty();
    }

    /** The version applied just before {@code number}, if it is still listed. */
    public synchronized Optional<ConfigVersion> before(int number) {
        return versions.stream().filter(v -> v.number() < number).reduce((a, b) -> b);
    }

    /** Where version {@code number}'s text is kept, for messages and for error positions after a rollback. */
    public String textLocation(int number) {
        return dir.map(d -> textPath(number).toString()).orElse("<version " + number + ">");
    }

    /** The exact text of version {@code number}, or empty when it was pruned. */
    public synchronized Optional<String> text(int number) throws IOException {
        if (dir.isEmpty()) {
            return Optional.ofNullable(texts.get(number));
        }
        Path path = textPath(number);
        return Files.exists(path) ? Optional.of(Files.readString(path)) : Optional.empty();
    }

    /** Records which process uses the directory and where its admin API listens, for {@code sluice rollback}. */
    public void writeInstance(long pid, Optional<String> adminAddress) throws IOException {
        if (dir.isPresent()) {
            ObjectNode node = JSON.createObjectNode().put("pid", pid).put("started", Instant.now().toString());
            adminAddress.ifPresent(a -> node.put("admin", a));
            writeAtomically(dir.get().resolve(INSTANCE), JSON.writeValueAsString(node) + "\n");
        }
    }

    /** The admin address recorded by the process using {@code dir}, if any. */
    public static Optional<String> adminAddressIn(Path dir) {
        return readInstance(dir).map(i -> i.path("admin").asText("")).filter(a -> !a.isEmpty());
    }

    private static Optional<JsonNode> readInstance(Path dir) {
        try {
            Path file = dir.resolve(INSTANCE);
            return Files.exists(file) ? Optional.of(JSON.readTree(file.toFile())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @Override
    public synchronized void close() {
        if (dir.isEmpty()) {
            return;
        }
        try {
            Files.deleteIfExists(dir.get().resolve(INSTANCE));
            if (lock != null) {
                lock.release();
            }
            lockChannel.close();
        } catch (IOException ignored) {
            // The lock goes with the process anyway.
        }
    }

    private Path textPath(int number) {
        return dir.orElseThrow().resolve("configs").resolve(String.format("%06d.yaml", number));
    }

    /** Drops the texts of old versions, keeping the newest {@link #KEEP_TEXTS}, the current one and the last known good. */
    private void pruneTexts() throws IOException {
        int keepFrom = versions.size() - KEEP_TEXTS;
        Optional<ConfigVersion> good = lastKnownGood();
        for (int i = 0; i < keepFrom; i++) {
            int number = versions.get(i).number();
            if (number == current || good.map(g -> g.number() == number).orElse(false)) {
                continue;
            }
            if (dir.isPresent()) {
                Files.deleteIfExists(textPath(number));
            } else {
                texts.remove(number);
            }
        }
    }

    private void readIndex() throws IOException {
        Path index = dir.orElseThrow().resolve(INDEX);
        if (!Files.exists(index)) {
            return;
        }
        JsonNode root = JSON.readTree(index.toFile());
        current = root.path("current").asInt(0);
        for (JsonNode v : root.path("versions")) {
            versions.add(new ConfigVersion(
                    v.path("version").asInt(),
                    Instant.parse(v.path("applied_at").asText()),
                    v.path("source").asText(),
                    v.path("sha256").asText(),
                    ConfigVersion.Outcome.ofLabel(v.path("outcome").asText()),
                    v.hasNonNull("restored_from") ? Optional.of(v.path("restored_from").asInt()) : Optional.empty(),
                    v.path("requests").asLong(0),
                    v.path("local_replies").asLong(0),
                    v.path("note").asText("")));
        }
        for (JsonNode r : root.path("refused")) {
            List<String> errors = new ArrayList<>();
            r.path("errors").forEach(e -> errors.add(e.asText()));
            refusals.add(new Refusal(Instant.parse(r.path("at").asText()), r.path("source").asText(),
                    r.path("sha256").asText(), errors));
        }
    }

    private void writeIndex() throws IOException {
        if (dir.isEmpty()) {
            return;
        }
        writeAtomically(dir.get().resolve(INDEX), JSON.writeValueAsString(toJson()) + "\n");
    }

    /** The index as JSON; also what {@code GET /config/versions} answers. */
    public synchronized ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("current", current);
        lastKnownGood().ifPresentOrElse(g -> root.put("last_known_good", g.number()), () -> root.putNull("last_known_good"));
        dir.ifPresentOrElse(d -> root.put("state_dir", d.toString()), () -> root.putNull("state_dir"));
        ArrayNode list = root.putArray("versions");
        for (ConfigVersion v : versions) {
            ObjectNode n = list.addObject();
            n.put("version", v.number());
            n.put("applied_at", v.appliedAt().toString());
            n.put("source", v.source());
            n.put("sha256", v.sha256());
            n.put("outcome", v.outcome().label());
            v.restoredFrom().ifPresentOrElse(r -> n.put("restored_from", r), () -> n.putNull("restored_from"));
            n.put("requests", v.requests());
            n.put("local_replies", v.localReplies());
            n.put("note", v.note());
        }
        ArrayNode refused = root.putArray("refused");
        for (Refusal r : refusals) {
            ObjectNode n = refused.addObject();
            n.put("at", r.at().toString());
            n.put("source", r.source());
            n.put("sha256", r.sha256());
            ArrayNode errors = n.putArray("errors");
            r.errors().forEach(errors::add);
        }
        return root;
    }

    /** Written aside, forced to disk, then renamed over the old file: readers see the old or the new, whole. */
    private static void writeAtomically(Path target, String text) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                ch.write(bytes);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
