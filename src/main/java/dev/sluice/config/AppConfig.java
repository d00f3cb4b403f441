package dev.sluice.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An application that Sluice starts when a request needs it ({@code clusters[].app}): the
 * cluster's one endpoint is that app on this machine. It guards against the hosting platform's
 * outage, where a gateway took a 502 from an overloaded app for "not running" and started it
 * again dozens of times a second: here a start is decided by the process's state alone (never
 * by how the app answers), once however many requests ask, and the requests wait in a bounded
 * hold queue until the app is ready.
 *
 * @param command the argv Sluice runs ({@code {port}} replaced by the port); empty with {@code startUrl}
 * @param startUrl an orchestrator's start API that Sluice POSTs to instead of running a command
 *     (the cluster then lists its endpoints)
 * @param workdir the command's working directory; Sluice's own when empty
 * @param env variables added to Sluice's environment for the command (and {@code PORT})
 * @param port the loopback port the app listens on; 0 for {@code auto}: a free one, chosen when
 *     the app is first configured and kept while its config stays the same
 * @param start when to start: on the first request, or as soon as the config is applied
 * @param readyPath what the readiness check asks for: any answer below 500 means ready
 * @param readyTimeout how long a start may take to pass the readiness check before it counts as failed
 * @param idleStop stop the app after no request for this long; empty: never (the default)
 * @param holdMax requests that may wait for the app to start; more are refused with 503 {@code overloaded}
 * @param holdTimeout the longest a request waits for it (503 {@code app_starting_timeout} after)
 * @param stopGrace between SIGTERM and SIGKILL when Sluice stops the app
 * @param logs the file the app's output is appended to; in the state directory when empty
 * @param backoff the wait before the first start after a failure: it doubles with each failure in a row
 * @param backoffMax the longest that wait grows to
 */
public record AppConfig(
        List<String> command,
        Optional<URI> startUrl,
        Optional<Path> workdir,
        Map<String, String> env,
        int port,
        StartMode start,
        String readyPath,
        Duration readyTimeout,
        Optional<Duration> idleStop,
        int holdMax,
        Duration holdTimeout,
        Duration stopGrace,
        Optional<Path> logs,
        Duration backoff,
        Duration backoffMax) {

    /** Replaced by the app's port in each argument of {@code command}. */
    public static final String PORT_PLACEHOLDER = "{port}";
    public static final int AUTO_PORT = 0;
    /** {@code /}: every web app answers it somehow, and any answer below 500 is "listening and serving". */
    public static final String DEFAULT_READY_PATH = "/";
    /** 30 s: a Python or Ruby app with its imports and a database pool starts in seconds; one that
     * has not answered in 30 s is stuck, and its held requests are better refused than kept. */
    public static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(30);
    /** 1000, the cluster concurrency queue's depth: a burst on a cold app waits rather than being refused. */
    public static final int DEFAULT_HOLD_MAX = 1000;
    /** 30 s, the ready timeout: a request held for a start that then succeeds is served. */
    public static final Duration DEFAULT_HOLD_TIMEOUT = Duration.ofSeconds(30);
    /** 10 s: Kubernetes gives 30 s, but an idle app stopped by Sluice has nothing in flight, and a
     * drain should not wait half a minute on one that ignores SIGTERM. */
    public static final Duration DEFAULT_STOP_GRACE = Duration.ofSeconds(10);
    /** 1 s doubling to 60 s: a crashing app is retried soon after one failure, yet a crash loop
     * costs at most one start a minute (systemd's and Kubernetes' restart backoffs have this shape). */
    public static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(1);
    public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(60);

    public AppConfig {
        command = List.copyOf(command);
        env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
        Objects.requireNonNull(start, "start");
        if (command.isEmpty() == startUrl.isEmpty()) {
            throw new IllegalArgumentException("an app has either a command or a start_url");
        }
    }

    /** An app run from {@code command} with every other key at its default. */
    public static AppConfig of(List<String> command) {
        return new AppConfig(command, Optional.empty(), Optional.empty(), Map.of(), AUTO_PORT, StartMode.ON_DEMAND,
                DEFAULT_READY_PATH, DEFAULT_READY_TIMEOUT, Optional.empty(), DEFAULT_HOLD_MAX, DEFAULT_HOLD_TIMEOUT,
                DEFAULT_STOP_GRACE, Optional.empty(), DEFAULT_BACKOFF, DEFAULT_BACKOFF_MAX);
    }

    /** True when Sluice runs the app itself (and so stops it, and knows whether its process lives). */
    public boolean runsCommand() {
        return !command.isEmpty();
    }

    /** {@code on_demand}: at the first request; {@code always}: when the config is applied, and again after a crash. */
    public enum StartMode { ON_DEMAND, ALWAYS }
}
