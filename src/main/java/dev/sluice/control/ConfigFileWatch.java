package dev.sluice.control;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code run --watch-config}: the config file is read every {@link #INTERVAL}, and when its
 * content is not what it was at the last look it is reloaded as on SIGHUP (validated whole; a
 * config with an error is refused and logged, and the running one keeps serving).
 *
 * <p>The content is compared, not the file's modification time or an inotify event on it, because
 * of how a Kubernetes ConfigMap volume changes: the kubelet writes the new files into a new
 * folder and renames a symlink ({@code ..data}) to point at it, while {@code sluice.yaml} stays a
 * symlink to {@code ..data/sluice.yaml}. The path Sluice was given, and the link at it, never
 * change; only what reading through them gives. Reading through the links also sees an editor's
 * rename-over-the-file and a plain rewrite, and one small file every two seconds costs nothing
 * measurable.
 *
 * <p>A look only reloads when the content changed since the last look, so a config pushed with
 * {@code POST /config} or a rollback stays until the file changes again, and a refused file is
 * refused once, not at every look.
 */
public final class ConfigFileWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigFileWatch.class);
    /**
     * 2 s: the kubelet takes up to a minute (its sync period plus the ConfigMap cache's TTL) to swap
     * a changed ConfigMap's files in; two more seconds add little to that.
     */
    public static final Duration INTERVAL = Duration.ofSeconds(2);

    /** What one look found. */
    public enum Look {
        /** The same content as at the last look. */
        UNCHANGED,
        /** Changed, and handed to the control plane (which applied or refused it). */
        RELOADED,
        /** The file could not be read; the running config stays and the next look tries again. */
        UNREADABLE
    }

    private final Path file;
    private final ControlPlane control;
    private final ScheduledExecutorService thread;
    private byte[] seen;
    private boolean unreadableSaid;

    private ConfigFileWatch(Path file, String loadedText, ControlPlane control) {
        this.file = file;
        this.control = control;
        this.seen = sha256(loadedText.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("sluice-config-watch").unstarted(r));
    }

    /**
     * Looks at {@code file} every {@code interval}, on a thread of its own (a reload may wait for
     * a new host name's first DNS answer; the control plane's timer must not wait with it).
     *
     * @param loadedText the text the running config was loaded from: a change made between that
     *     read and the first look is seen by the first look
     */
    public static ConfigFileWatch start(Path file, String loadedText, ControlPlane control, Duration interval) {
        ConfigFileWatch watch = new ConfigFileWatch(file, loadedText, control);
        long millis = Math.max(1, interval.toMillis());
        watch.thread.scheduleWithFixedDelay(watch::look, millis, millis, TimeUnit.MILLISECONDS);
        LOG.info("watching {} for changes every {} ms (--watch-config)", file, millis);
        return watch;
    }

    /** One look at the file: reloads it if its content changed since the last look. */
    synchronized Look look() {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException | RuntimeException e) {
            if (!unreadableSaid) {
                unreadableSaid = true;
                LOG.warn("cannot read the config file {} ({}); the running config keeps serving, and the file is "
                        + "looked at again every {} ms", file, e.toString(), INTERVAL.toMillis());
            }
            return Look.UNREADABLE;
        }
        unreadableSaid = false;
        byte[] digest = sha256(bytes);
        if (Arrays.equals(digest, seen)) {
            return Look.UNCHANGED;
        }
        seen = digest;
        try {
            control.reloadFile("--watch-config: its content changed");
        } catch (RuntimeException e) {
            // A bug in a reload must not end the watch: the next change is still looked for.
            LOG.error("reloading {} after it changed failed", file, e);
        }
        return Look.RELOADED;
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
