package dev.sluice.incident;

import dev.sluice.config.AlertsConfig;
import dev.sluice.config.ConfigVersion;
import dev.sluice.config.IncidentsConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.observe.ClusterTallies;
import dev.sluice.observe.ClusterTallies.Totals;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The incident watch: once a second, on a thread of its own ({@code sluice-incidents}), it reads
 * the clusters' totals ({@link ClusterTallies}) and their endpoints' state from the running
 * snapshot, makes each cluster's windows by subtracting the totals of a window ago, steps
 * {@link Incidents}, logs one line per incident opened or closed and hands it to the
 * {@link AlertSender}. It also keeps what the dashboard shows of each cluster's traffic
 * ({@link #traffic()}). The data plane only counts; nothing here runs on an event loop.
 */
public final class IncidentWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IncidentWatch.class);
    /** 1 s: an outage is seen within a second or two, and a step costs a few microseconds per cluster. */
    static final Duration STEP = Duration.ofSeconds(1);
    /** How far back an endpoint's own tries are judged: two steps. */
    static final Duration RECENT = Duration.ofSeconds(2);

    /** What the watch reads of the running instance. */
    public interface Sources {
        Collection<Cluster> clusters();

        IncidentsConfig config();

        Optional<AlertsConfig> alerts();

        ConfigVersion currentVersion();

        List<ConfigVersion> versions();
    }

    private record Sample(Instant at, Map<String, Totals> totals) {}

    private final ClusterTallies tallies;
    private final Sources sources;
    private final Clock clock;
    private final LongSupplier nanoClock;
    private final Incidents incidents = new Incidents();
    private final AlertSender alerts;
    private final Deque<Sample> samples = new ArrayDeque<>();
    private final ScheduledExecutorService thread;
    private volatile Map<String, Object> traffic = Map.of();

    private IncidentWatch(ClusterTallies tallies, Sources sources, Clock clock, LongSupplier nanoClock) {
        this.tallies = tallies;
        this.sources = sources;
        this.clock = clock;
        this.nanoClock = nanoClock;
        this.alerts = new AlertSender(sources::alerts, clock);
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("sluice-incidents").unstarted(r));
    }

    public static IncidentWatch start(ClusterTallies tallies, Sources sources, Clock clock, LongSupplier nanoClock) {
        IncidentWatch watch = new IncidentWatch(tallies, sources, clock, nanoClock);
        watch.thread.scheduleAtFixedRate(watch::stepSafely, STEP.toMillis(), STEP.toMillis(), TimeUnit.MILLISECONDS);
        return watch;
    }

    private void stepSafely() {
        try {
            step();
        } catch (RuntimeException e) {
            // A bug here must not stop the watch for good (a scheduled task that throws is never run again).
            LOG.error("incident watch step failed", e);
        }
    }

    synchronized void step() {
        Instant now = clock.instant();
        Map<String, Totals> totals = tallies.totals();
        Sample previous = samples.peekLast();
        samples.addLast(new Sample(now, totals));
        IncidentsConfig config = sources.config();
        // Keep one sample at or before the window's start, and everything after it.
        Instant windowFrom = now.minus(config.window());
        while (samples.size() > 2 && !second(samples).at().isAfter(windowFrom)) {
            samples.removeFirst();
        }
        Sample windowStart = at(now.minus(config.window()));
        Sample recentStart = at(now.minus(RECENT));
        long nanos = nanoClock.getAsLong();
        List<Incidents.ClusterSeen> seen = new ArrayList<>();
        for (Cluster cluster : sources.clusters()) {
            String name = cluster.name();
            Totals current = totals.getOrDefault(name, Totals.ZERO);
            List<Incidents.EndpointSeen> endpoints = new ArrayList<>();
            for (Endpoint e : cluster.endpoints()) {
                boolean ejected = e.isEjected(nanos);
                boolean down = e.health() == Endpoint.Health.UNHEALTHY || e.health() == Endpoint.Health.WRONG_IDENTITY;
                String state = ejected ? "ejected" : down ? "marked " + lower(e.health()) + " by its health check"
                        : lower(e.health());
                endpoints.add(new Incidents.EndpointSeen(e.address(), state, ejected || down));
            }
            seen.add(new Incidents.ClusterSeen(name, current.minus(totalsOf(windowStart, name)),
                    Duration.between(windowStart.at(), now), current.minus(totalsOf(recentStart, name)),
                    Duration.between(recentStart.at(), now),
                    previous == null ? Totals.ZERO : current.minus(totalsOf(previous, name)), endpoints,
                    cluster.panicking(nanos)));
        }
        List<Incidents.Notice> notices = incidents.step(now, config, seen, sources.currentVersion(), sources.versions());
        announce(notices);
        traffic = traffic(seen);
    }

    private static Sample second(Deque<Sample> samples) {
        var it = samples.iterator();
        it.next();
        return it.next();
    }

    /** The oldest sample at or after {@code since}'s side: the newest one taken no later than it, else the oldest kept. */
    private Sample at(Instant since) {
        Sample chosen = samples.peekFirst();
        for (Sample s : samples) {
            if (s.at().isAfter(since)) {
                break;
            }
            chosen = s;
        }
        return chosen;
    }

    private static Totals totalsOf(Sample sample, String cluster) {
        return sample.totals().getOrDefault(cluster, Totals.ZERO);
    }

    private void announce(List<Incidents.Notice> notices) {
        for (Incidents.Notice notice : notices) {
            if (notice.event().equals("open")) {
                LOG.warn("{}", notice.line());
            } else {
                LOG.info("{}", notice.line());
            }
            alerts.send(notice);
        }
    }

    /**
     * A version judged bad was rolled back without an operator: recorded in the incidents it
     * belongs to, or opened as one of its own (one log line, one alert).
     */
    public void autoRolledBack(ConfigVersion bad, ConfigVersion restored, String why) {
        announce(incidents.autoRolledBack(clock.instant(), bad, restored, why, sources.currentVersion(),
                sources.versions()));
    }

    /** A problem with where a cluster's endpoints come from, found or gone: see {@link Incidents#sourceProblem}. */
    public void sourceProblem(String cluster, String what, boolean present) {
        announce(incidents.sourceProblem(clock.instant(), cluster, what, present, sources.currentVersion(),
                sources.versions()));
    }

    /** A canary was rolled back by its analysis: an incident (one log line, one alert). */
    public void canaryRolledBack(String what, Optional<ConfigVersion> recorded) {
        announce(incidents.canaryRolledBack(clock.instant(), what, recorded, sources.versions()));
    }

    /** {@code GET /incidents}. */
    public Map<String, Object> incidentsJson() {
        return incidents.toJson(clock.instant());
    }

    /**
     * Each cluster's traffic over the incident window, for {@code /status} and the dashboard:
     * rates, the ratio of failed tries, failures by kind, p50 and p99 latency, per endpoint and
     * per route, and the open incident.
     */
    public Map<String, Object> traffic() {
        return traffic;
    }

    public AlertSender alerts() {
        return alerts;
    }

    private Map<String, Object> traffic(List<Incidents.ClusterSeen> seen) {
        Map<String, Object> all = new LinkedHashMap<>();
        for (Incidents.ClusterSeen c : seen) {
            Totals w = c.window();
            double seconds = Math.max(0.001, c.windowLength().toMillis() / 1000.0);
            Map<String, Object> cluster = new LinkedHashMap<>();
            cluster.put("window_seconds", Math.round(seconds * 10) / 10.0);
            cluster.put("requests_per_second", rate(w.requests(), seconds));
            cluster.put("tries_per_second", rate(w.tries(), seconds));
            cluster.put("error_ratio", round(Incidents.ratio(w)));
            cluster.put("failed_requests", w.failedRequests());
            cluster.put("failures_by_kind", byKind(w.byKind()));
            cluster.put("retries", w.retries());
            cluster.put("retries_refused_by_budget", w.retriesRefusedByBudget());
            cluster.put("latency_p50_ms", ms(Incidents.percentile(w.latency(), 0.5)));
            cluster.put("latency_p99_ms", ms(Incidents.p99(w)));
            cluster.put("incident", incidents.openOn(c.name()).orElse(null));
            Map<String, Object> endpoints = new LinkedHashMap<>();
            w.endpoints().forEach((address, n) -> {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("tries_per_second", rate(n.tries(), seconds));
                e.put("error_ratio", round(n.tries() <= 0 ? 0 : (double) n.failures() / n.tries()));
                e.put("failures_by_kind", byKind(n.byKind()));
                endpoints.put(address, e);
            });
            cluster.put("endpoints", endpoints);
            Map<String, Object> routes = new LinkedHashMap<>();
            w.routes().forEach((route, n) -> {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("requests_per_second", rate(n.tries(), seconds));
                r.put("error_ratio", round(n.tries() <= 0 ? 0 : (double) n.failures() / n.tries()));
                r.put("failures_by_kind", byKind(n.byKind()));
                routes.put(route, r);
            });
            cluster.put("routes", routes);
            all.put(c.name(), cluster);
        }
        return all;
    }

    private static Map<String, Long> byKind(long[] counts) {
        Map<String, Long> kinds = new LinkedHashMap<>();
        for (FailureKind kind : FailureKind.values()) {
            if (counts[kind.ordinal()] > 0) {
                kinds.put(kind.label(), counts[kind.ordinal()]);
            }
        }
        return kinds;
    }

    private static double rate(long n, double seconds) {
        return Math.round(Math.max(0, n) / seconds * 10) / 10.0;
    }

    private static double round(double ratio) {
        return Math.round(ratio * 10_000) / 10_000.0;
    }

    private static double ms(long nanos) {
        return Math.round(nanos / 1e4) / 100.0;
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void close() {
        thread.shutdownNow();
        alerts.close();
    }
}
