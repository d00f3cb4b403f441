package dev.sluice;

import dev.sluice.admin.AdminServer;
import dev.sluice.admin.AppsApi;
import dev.sluice.apps.Apps;
import dev.sluice.canary.Canaries;
import dev.sluice.canary.CanaryApi;
import dev.sluice.admin.Status;
import dev.sluice.config.ConfigStore;
import dev.sluice.config.ConfigVersion;
import dev.sluice.config.SluiceConfig;
import dev.sluice.control.ConfigFileWatch;
import dev.sluice.control.ControlApi;
import dev.sluice.control.ControlPlane;
import dev.sluice.config.AlertsConfig;
import dev.sluice.config.IncidentsConfig;
import dev.sluice.incident.IncidentWatch;
import dev.sluice.observe.AccessLog;
import dev.sluice.observe.QueryRedaction;
import dev.sluice.observe.TrafficCounters;
import dev.sluice.server.Drain;
import dev.sluice.server.Gateway;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Sluice process: the {@link Gateway} (the data plane), its admin API, its access
 * log, the {@link ControlPlane} that changes its config and the {@link Drain} that shuts it down
 * gracefully, wired together. Everything here runs off the event loops.
 */
public final class Instance implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Instance.class);
    /** 60 s: long enough for a broken route or a bad endpoint to show in the error ratio under real
     * traffic, short enough that "last known good" follows a deploy within a minute. */
    public static final Duration DEFAULT_BAKE_PERIOD = Duration.ofSeconds(60);

    /**
     * How an instance starts, beyond its config.
     *
     * @param text the exact config text (stored as a version; rollbacks restore it)
     * @param source what it came from, for the version history
     * @param restoredFrom the stored version it restores (a start from the last known good)
     * @param autoRollback {@code run --auto-rollback}: on whatever {@code versions.auto_rollback} says
     */
    public record Startup(String text, String source, Optional<Path> configFile, ConfigStore store,
                          Duration bakePeriod, Optional<Integer> restoredFrom, boolean autoRollback) {
        public Startup(String text, String source, Optional<Path> configFile, ConfigStore store,
                       Duration bakePeriod, Optional<Integer> restoredFrom) {
            this(text, source, configFile, store, bakePeriod, restoredFrom, false);
        }

        /** An embedded or test config: history in memory, the default bake period. */
        public static Startup inMemory(String text, String source) {
            return new Startup(text, source, Optional.empty(), ConfigStore.inMemory(), DEFAULT_BAKE_PERIOD,
                    Optional.empty());
        }
    }

    /**
     * The end of a drain.
     *
     * @param summary the one log line it ended with
     * @param inFlightAtClose requests in flight when the listeners closed
     * @param cut requests still in flight when the gateway closed, cut short
     */
    public record Stopped(String summary, int inFlightAtClose, long cut) {}

    private final Gateway gateway;
    private final AccessLog accessLog;
    private final ConfigStore store;
    private final ScheduledExecutorService timer;
    private final ControlPlane control;
    private final Drain drain;
    private final IncidentWatch incidents;
    private final Canaries canaries;
    private final CompletableFuture<Stopped> stopped = new CompletableFuture<>();
    private final long startedMillis = System.currentTimeMillis();
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private AdminServer admin;
    private final Startup startup;
    private volatile Optional<ConfigFileWatch> configWatch = Optional.empty();
    /** The config text as read at the start, before any canary's weights were held in it: what the file watch compares. */
    private String textAsRead;

    private Instance(Gateway gateway, AccessLog accessLog, Startup startup) {
        this.gateway = gateway;
        this.accessLog = accessLog;
        gateway.metrics().countDroppedLines(accessLog);
        this.store = startup.store();
        this.startup = startup;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("sluice-control").unstarted(r));
        this.drain = new Drain(gateway, System::nanoTime);
        this.control = new ControlPlane(gateway, store, startup.configFile(), startup.bakePeriod(),
                TrafficCounters.of(gateway.metrics()), timer, Clock.systemUTC(), drain::started, startup.autoRollback());
        this.incidents = IncidentWatch.start(gateway.tallies(), incidentSources(), Clock.systemUTC(), System::nanoTime);
        control.reportAutoRollbacksTo(r -> incidents.autoRolledBack(r.bad(), r.restored(), r.why()));
        gateway.kubernetes().reportProblemsTo(incidents::sourceProblem);
        dev.sluice.control.ConfigMetrics.register(gateway.metrics(), control, store);
        this.canaries = Canaries.start(canarySources(), canaryOutcomes(), Clock.systemUTC());
        control.reportSwapsTo(new dev.sluice.control.ConfigSwaps() {
            @Override
            public void swapping(java.time.Instant at) {
                canaries.swapping(at);
            }

            @Override
            public void swapped() {
                canaries.swapped();
            }
        });
    }

    /** What the canaries read: the running snapshot's routes and the clusters' totals. */
    private Canaries.Sources canarySources() {
        return new Canaries.Sources() {
            @Override
            public List<dev.sluice.route.Route> routes() {
                return gateway.snapshot().routes().routes();
            }

            @Override
            public java.util.Map<String, dev.sluice.observe.ClusterTallies.Totals> totals() {
                return gateway.tallies().totals();
            }

            @Override
            public Optional<Canaries.Held> held(String route) {
                return control.canaryHeld(route).map(e -> new Canaries.Held(e.status(), e.at(), e.why(), e.version(),
                        e.judged()));
            }
        };
    }

    /** Where a canary's end goes: a config version through the control plane, and an incident. */
    private Canaries.Outcomes canaryOutcomes() {
        return new Canaries.Outcomes() {
            @Override
            public Optional<Integer> record(String route, java.util.Map<String, Integer> weights, Canaries.Held end) {
                String why = end.why();
                return switch (control.applySplitWeights(route, weights, new dev.sluice.control.CanaryEnd(end.status(),
                        end.at(), why, end.version(), end.judged()))) {
                    case ControlPlane.Result.Applied applied -> Optional.of(applied.version().number());
                    case ControlPlane.Result.Refused refused -> {
                        LOG.error("route {}: {}; the new weights serve but are not recorded as a version: {}", route,
                                why, refused.reason());
                        yield Optional.empty();
                    }
                };
            }

            @Override
            public Optional<Integer> resume(String route, java.util.Map<String, Integer> weights, String why) {
                return switch (control.resumeCanary(route, weights, why)) {
                    case ControlPlane.Result.Applied applied -> Optional.of(applied.version().number());
                    case ControlPlane.Result.Refused refused -> {
                        LOG.error("route {}: {}; refused: {}", route, why, refused.reason());
                        yield Optional.empty();
                    }
                };
            }

            @Override
            public void rolledBack(String what, Optional<Integer> version) {
                incidents.canaryRolledBack(what, version.flatMap(store::version));
            }
        };
    }

    /** What the incident watch reads: the running snapshot's clusters and settings, and the versions. */
    private IncidentWatch.Sources incidentSources() {
        return new IncidentWatch.Sources() {
            @Override
            public java.util.Collection<dev.sluice.upstream.Cluster> clusters() {
                return gateway.snapshot().clusters().values();
            }

            @Override
            public IncidentsConfig config() {
                return gateway.snapshot().config().incidents();
            }

            @Override
            public Optional<AlertsConfig> alerts() {
                return gateway.snapshot().config().alerts();
            }

            @Override
            public ConfigVersion currentVersion() {
                return control.current();
            }

            @Override
            public List<ConfigVersion> versions() {
                return store.versions();
            }
        };
    }

    /** Starts everything the config describes; on failure nothing is left running. */
    public static Instance start(SluiceConfig config, Startup startup) throws IOException, InterruptedException {
        String textAsRead = startup.text();
        String held = ControlPlane.heldAtStart(startup.store(), textAsRead, config);
        if (!held.equals(startup.text())) {
            try {
                config = dev.sluice.config.ConfigLoader.parse(held, config.source());
            } catch (dev.sluice.config.ConfigException e) {
                throw new IllegalStateException("the config with the canaries' held weights cannot be read again", e);
            }
            startup = new Startup(held, startup.source() + "; canary weights held", startup.configFile(),
                    startup.store(), startup.bakePeriod(), startup.restoredFrom(), startup.autoRollback());
        }
        AccessLog accessLog = openAccessLog(config);
        Gateway gateway = null;
        Instance instance = null;
        try {
            // Reaps what an earlier Sluice, killed before it could stop its apps, left running.
            Apps apps = startup.store().directory().map(Apps::inStateDirectory).orElseGet(Apps::unrecorded);
            gateway = Gateway.start(config, accessLog, apps);
            instance = new Instance(gateway, accessLog, startup);
            instance.textAsRead = textAsRead;
            instance.control.started(startup.text(), startup.source(), startup.restoredFrom());
            if (config.admin().isPresent()) {
                instance.admin = AdminServer.start(config.admin().get(), instance.observed(),
                        new CanaryApi(instance.canaries).orElse(new AppsApi(instance.gateway.apps()))
                                .orElse(new ControlApi(instance.control, instance::drain)));
            }
            instance.store.writeInstance(ProcessHandle.current().pid(),
                    instance.adminAddress().map(a -> a.getHostString() + ":" + a.getPort()));
            return instance;
        } catch (RuntimeException | InterruptedException | IOException e) {
            if (instance != null) {
                instance.close();
            } else {
                if (gateway != null) {
                    gateway.close();
                }
                accessLog.close();
            }
            throw e;
        }
    }

    private static AccessLog openAccessLog(SluiceConfig config) throws IOException {
        if (!config.accessLog().enabled()) {
            return AccessLog.DISABLED;
        }
        QueryRedaction redaction = config.accessLog().redactQuery().map(QueryRedaction::new)
                .orElse(QueryRedaction.DEFAULT);
        return config.accessLog().path().isPresent()
                ? AccessLog.toFile(Path.of(config.accessLog().path().get()), redaction)
                : AccessLog.toStream(System.out, redaction);
    }

    public Gateway gateway() {
        return gateway;
    }

    public List<InetSocketAddress> listenerAddresses() {
        return gateway.boundAddresses();
    }

    public Optional<InetSocketAddress> adminAddress() {
        return Optional.ofNullable(admin).map(AdminServer::address);
    }

    /**
     * Why {@code /ready} answers 503, or empty when it answers 200: {@code draining} from the moment
     * a drain starts, so balancers stop sending; before that, while a Kubernetes cluster waits for
     * its first EndpointSlice listing (its requests would get 503 {@code no_healthy_endpoint}), so
     * a readiness probe sends nothing to a replica that cannot serve it yet.
     */
    public Optional<String> notReady() {
        if (drain.started()) {
            return Optional.of("draining");
        }
        List<String> waiting = gateway.kubernetes().waitingForFirstListing();
        return waiting.isEmpty() ? Optional.empty() : Optional.of("not ready: " + waiting.stream()
                .map(c -> "kubernetes cluster " + c + ": waiting for its first EndpointSlice listing")
                .collect(java.util.stream.Collectors.joining("; ")));
    }

    /**
     * SIGUSR1 (logrotate's {@code postrotate}): the access log file is opened again at its path,
     * on the access log's writer thread once the lines logged before are written.
     */
    public void reopenAccessLog() {
        accessLog.reopen();
    }

    /** SIGHUP: the config file again; a bad one is refused (and logged) and the running one stays. */
    public void reload() {
        control.reloadFile("SIGHUP");
    }

    /**
     * {@code run --watch-config}: the config file is applied whenever its content changes (a
     * ConfigMap update, see {@link ConfigFileWatch}), as on SIGHUP.
     */
    public ConfigFileWatch watchConfigFile(Duration interval) {
        Path file = startup.configFile().orElseThrow(() -> new IllegalStateException("no config file to watch"));
        ConfigFileWatch watch = ConfigFileWatch.start(file, textAsRead, control, interval);
        configWatch = Optional.of(watch);
        return watch;
    }

    /**
     * Starts a graceful shutdown (see {@link Drain}); when it ends the instance closes and
     * {@link #stopped()} completes. False if one had already started.
     */
    public boolean drain(String reason) {
        boolean began = drain.begin(reason, gateway.snapshot().config().drain());
        if (began) {
            drain.done().whenComplete((report, failure) -> {
                if (failure != null) {
                    LOG.error("drain failed; closing", failure);
                    report = new Drain.Report(reason, Duration.ZERO, Duration.ZERO, gateway.openClientConnections(),
                            gateway.activeExchanges(), gateway.activeExchanges(), true);
                }
                close();
                long cut = gateway.cutExchanges();
                Stopped result = new Stopped(summary(report, cut), report.inFlightAtClose(), cut);
                LOG.info("{}", result.summary());
                stopped.complete(result);
            });
        }
        return began;
    }

    /** A second SIGTERM: skip what is left of the drain. */
    public void hurryDrain() {
        LOG.warn("second stop request: cutting the drain short");
        drain.hurry();
    }

    /** Completes when a drain has ended and everything is closed. */
    public CompletableFuture<Stopped> stopped() {
        return stopped;
    }

    /** The one log line a drain ends with: what was drained and what was cut. */
    static String summary(Drain.Report r, long cut) {
        String outcome = cut == 0
                ? "all finished, 0 cut"
                : cut + " cut" + (r.hurried() ? " (drain cut short)" : " at the drain timeout");
        return String.format(java.util.Locale.ROOT,
                "drained in %.2fs (%s, delay %d ms%s): %d requests in flight and %d client connections open when the "
                        + "listeners closed; %s",
                r.took().toNanos() / 1e9, r.reason(), r.delay().toMillis(), r.hurried() ? ", cut short" : "",
                r.inFlightAtClose(), r.connectionsAtClose(), outcome);
    }

    /** What the admin API reads of this instance. */
    private AdminServer.Observed observed() {
        return new AdminServer.Observed() {
            @Override
            public Optional<String> notReady() {
                return Instance.this.notReady();
            }

            @Override
            public Status status() {
                return new Status(gateway, control.current(), store.lastKnownGood().map(ConfigVersion::number),
                        control.fileDiffersFromRunning(), store.directory(), drain.started(),
                        Duration.ofMillis(System.currentTimeMillis() - startedMillis), accessLog.droppedLines(),
                        incidents.traffic(), canaries.toJson());
            }

            @Override
            public java.util.Map<String, Object> incidents() {
                return incidents.incidentsJson();
            }

            @Override
            public String metrics() {
                return gateway.metrics().scrape();
            }
        };
    }

    /** Closes everything at once; requests still in flight are cut (and counted). Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // A drain still waiting ends now; its summary then reports what this close cut.
        drain.hurry();
        configWatch.ifPresent(ConfigFileWatch::close);
        control.close();
        canaries.close();
        incidents.close();
        timer.shutdownNow();
        if (admin != null) {
            admin.close();
        }
        gateway.close();
        accessLog.close();
        store.close();
    }
}
