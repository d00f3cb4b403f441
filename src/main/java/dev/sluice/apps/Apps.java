package dev.sluice.apps;

import dev.sluice.config.AppConfig;
import dev.sluice.config.ClusterConfig;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.HostPort;
import dev.sluice.config.SluiceConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every app of the running config, by cluster name. A reload goes through {@link #reconcile}:
 * an app whose {@code app:} section is unchanged keeps running untouched; a changed one is
 * replaced gracefully (the new one started and ready first when it can run beside the old, then
 * the switch, then the old one stopped; a replacement that does not become ready refuses the
 * reload, {@link NotReady}, and the old one keeps serving); a removed one is stopped. Off the event loops: the
 * control plane calls it, and the data plane only reads the published map.
 */
public final class Apps implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Apps.class);
    /** The loopback address every app Sluice runs listens on: it is reached only through Sluice. */
    static final String HOST = "127.0.0.1";

    private final PidRecords records;
    private final Path logDir;
    private final LongSupplier clock;
    private volatile Map<String, AppSupervisor> apps = Map.of();
    /** Replaced or removed by the last reconcile; stopped by {@link #retireReplaced}. */
    private final List<AppSupervisor> replaced = new ArrayList<>();
    /** 1 s: far longer than a request takes from routing to its app's admission (microseconds on a loop). */
    /** Waiting out {@link #RETIRE_AFTER}: whoever removes one from here stops it (the retire, or {@link #close}). */
    private final java.util.Set<AppSupervisor> retiring = java.util.concurrent.ConcurrentHashMap.newKeySet();
    static final java.time.Duration RETIRE_AFTER = java.time.Duration.ofSeconds(1);

    private Apps(PidRecords records, Path logDir, LongSupplier clock) {
        this.records = records;
        this.logDir = logDir;
        this.clock = clock;
    }

    /**
     * Apps whose pids are recorded in {@code stateDir/apps} (and logs kept there, unless an app
     * names its own); what an earlier Sluice left running there is reaped first.
     */
    public static Apps inStateDirectory(Path stateDir) {
        Path dir = stateDir.resolve("apps");
        Apps apps = new Apps(PidRecords.in(dir), dir, System::nanoTime);
        apps.records.reap();
        return apps;
    }

    /** Apps without a state directory: nothing recorded across runs; logs in the temporary directory. */
    public static Apps unrecorded() {
        return new Apps(PidRecords.NONE, Path.of(System.getProperty("java.io.tmpdir"), "sluice-apps-"
                + ProcessHandle.current().pid()), System::nanoTime);
    }

    /** The supervisor of the app behind cluster {@code cluster}, when it has one. */
    public Optional<AppSupervisor> app(String cluster) {
        return Optional.ofNullable(apps.get(cluster));
    }

    public List<AppStatus> statuses() {
        return apps.values().stream().map(AppSupervisor::status).toList();
    }

    /**
     * Makes the running apps those of {@code config}, and returns it with each app's address as
     * its cluster's endpoint. Blocks (the control plane's thread, never an event loop) while a
     * changed app's replacement starts, up to its {@code ready.timeout}.
     */
    public synchronized SluiceConfig reconcile(SluiceConfig config) {
        Map<String, AppSupervisor> before = apps;
        Map<String, AppSupervisor> next = new LinkedHashMap<>();
        List<AppSupervisor> retired = new ArrayList<>();
        List<ClusterConfig> clusters = new ArrayList<>();
        try {
            reconcile(config, before, next, retired, clusters);
        } catch (NotReady e) {
            // The reload is refused: the apps it started stop, the old ones keep serving.
            next.values().stream().filter(created -> !before.containsValue(created)).forEach(AppSupervisor::close);
            e.replacement.close();
            throw e;
        }
        before.forEach((name, old) -> {
            if (!next.containsKey(name) && !retired.contains(old)) {
                retired.add(old);
            }
        });
        apps = Map.copyOf(next);
        replaced.addAll(retired);
        return config.withClusters(clusters);
    }

    /**
     * A changed app's replacement did not become ready within its {@code ready.timeout}: the
     * reload that asked for it is refused, and the running app keeps serving.
     */
    public static final class NotReady extends RuntimeException {
        private final transient AppSupervisor replacement;

        NotReady(String message, AppSupervisor replacement) {
            super(message);
            this.replacement = replacement;
        }
    }

    private void reconcile(SluiceConfig config, Map<String, AppSupervisor> before, Map<String, AppSupervisor> next,
                           List<AppSupervisor> retired, List<ClusterConfig> clusters) {
        for (ClusterConfig cluster : config.clusters()) {
            if (cluster.app().isEmpty()) {
                clusters.add(cluster);
                continue;
            }
            AppConfig app = cluster.app().get();
            AppSupervisor old = before.get(cluster.name());
            AppSupervisor now;
            if (old != null && old.config().equals(app) && sameEndpoints(old, cluster)) {
                now = old;
            } else {
                now = replace(cluster, old, retired);
            }
            next.put(cluster.name(), now);
            clusters.add(app.runsCommand() ? cluster.withEndpoints(List.of(EndpointConfig.of(now.address()))) : cluster);
        }
    }

    /**
     * Stops the apps the last {@link #reconcile} replaced or removed. Called once the snapshot that
     * no longer sends requests to them is published, never before: an old app stopped first refused
     * the requests routed to it an instant before the switch (503s in a reload under load). Each
     * stops {@link #RETIRE_AFTER} later, so that such a request has reached it, and the requests
     * already sent to it finish in its stop_grace.
     */
    public synchronized void retireReplaced() {
        for (AppSupervisor old : replaced) {
            retiring.add(old);
            Thread.ofPlatform().daemon().name("sluice-app-retire-" + old.name()).start(() -> {
                try {
                    Thread.sleep(RETIRE_AFTER.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                if (retiring.remove(old)) {
                    old.close();
                }
            });
        }
        replaced.clear();
    }

    /** An app of a start_url cluster is found at the cluster's first endpoint: the same one, or a new supervisor. */
    private static boolean sameEndpoints(AppSupervisor old, ClusterConfig cluster) {
        return old.config().runsCommand() || cluster.endpoints().isEmpty()
                || cluster.endpoints().get(0).address().equals(old.address());
    }

    /** A supervisor for a new or changed app; a running one it replaces is started beside it, or stopped first. */
    private AppSupervisor replace(ClusterConfig cluster, AppSupervisor old, List<AppSupervisor> retired) {
        AppConfig app = cluster.app().orElseThrow();
        boolean wasRunning = old != null && old.state().processAlive();
        boolean sharesPort = old != null && app.runsCommand() && app.port() != AppConfig.AUTO_PORT
                && old.address().port() == app.port();
        if (old != null && sharesPort) {
            // Both cannot listen on one fixed port: the old one goes first.
            LOG.info("app {}: its config changed and its port {} is fixed; stopping the old one before starting the new",
                    cluster.name(), app.port());
            old.close();
        }
        AppSupervisor created = new AppSupervisor(cluster.name(), app, address(cluster, app), logFile(cluster.name(), app),
                records, clock);
        if (app.start() == AppConfig.StartMode.ALWAYS || wasRunning) {
            created.startAtBoot();
            if (wasRunning && !sharesPort) {
                LOG.info("app {}: its config changed; starting the new one before stopping the old", cluster.name());
                if (!created.awaitReady(app.readyTimeout().toNanos() + 1_000_000_000L)) {
                    throw new NotReady("app " + cluster.name() + ": the changed app did not become ready within its "
                            + "ready.timeout (" + app.readyTimeout().toSeconds() + "s; it is " + created.state().label()
                            + ", see its log " + logFile(cluster.name(), app) + "); the running one keeps serving",
                            created);
                }
            }
        }
        if (old != null && !sharesPort) {
            retired.add(old);
        }
        return created;
    }

    private HostPort address(ClusterConfig cluster, AppConfig app) {
        if (!app.runsCommand()) {
            return cluster.endpoints().get(0).address();
        }
        return new HostPort(HOST, app.port() != AppConfig.AUTO_PORT ? app.port() : freePort());
    }

    private Path logFile(String name, AppConfig app) {
        return app.logs().orElse(logDir.resolve(name + ".log"));
    }

    /** A loopback port free now; the app binds it a moment later (another process could take it between: the start then fails and is retried). */
    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("cannot find a free loopback port for an app: " + e.getMessage(), e);
        }
    }

    /** Stops every app (each SIGTERM, its stop_grace, SIGKILL), all at once, and waits for them. */
    @Override
    public synchronized void close() {
        List<AppSupervisor> all = new ArrayList<>(apps.values());
        apps = Map.of();
        all.addAll(replaced);
        replaced.clear();
        for (AppSupervisor old : List.copyOf(retiring)) {
            if (retiring.remove(old)) {
                all.add(old);
            }
        }
        List<Thread> stopping = new ArrayList<>();
        for (AppSupervisor app : all) {
            stopping.add(Thread.ofPlatform().daemon().name("sluice-app-stop-" + app.name()).start(app::close));
        }
        for (Thread t : stopping) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The supervisors by name, for tests. */
    Map<String, AppSupervisor> all() {
        return new HashMap<>(apps);
    }
}
