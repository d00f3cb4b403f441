package dev.sluice.observe;

import dev.sluice.failure.FailureKind;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.function.Supplier;

/**
 * The gateway's metrics, in Prometheus text for {@code GET /metrics}; {@code docs/metrics.md}
 * lists them all. Two kinds:
 *
 * <ul>
 *   <li>counted per request ({@link TrafficMeters}): by route, cluster and endpoint, with meters
 *       made when a snapshot is published ({@link #publish}), so counting a request is one map
 *       lookup by route name and a few adder increments, never a registry lookup or a new tag array;
 *   <li>read at each scrape ({@link #gauges}, {@link #counters}, {@link #perCluster}...): state
 *       the gateway already keeps (endpoints, pools, budgets, admission, the config version), which
 *       costs the request path nothing.
 * </ul>
 */
public final class GatewayMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final TrafficMeters traffic = new TrafficMeters();
    private final Counter clientAborts;
    private final List<PerCluster> perCluster = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<PerRouteRule<?>> perRouteRule = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<PerListener> perListener = new java.util.concurrent.CopyOnWriteArrayList<>();

    public GatewayMetrics() {
        registry.getPrometheusRegistry().register(traffic);
        clientAborts = Counter.builder("sluice.client.aborts")
                .description("Requests whose client went away before the response was complete").register(registry);
    }

    public void gauge(String name, String description, Supplier<Number> value) {
        Gauge.builder(name, value).description(description).register(registry);
    }

    /**
     * A counter read from {@code source} at each scrape (the registry holds {@code source}
     * weakly: its owner keeps it), such as {@code sluice_redis_errors_total}.
     */
    public <T> void counter(String name, String description, T source, java.util.function.ToDoubleFunction<T> count) {
        FunctionCounter.builder(name, source, count).description(description).register(registry);
    }

    /** {@code sluice_access_log_dropped_total}, read from the access log at each scrape. */
    public void countDroppedLines(AccessLog accessLog) {
        FunctionCounter.builder("sluice.access_log.dropped", accessLog, AccessLog::droppedLines)
                .description("Access-log lines dropped: their file or stdout did not keep up, or the write failed")
                .register(registry);
    }

    /**
     * {@code sluice_listener_connections_refused_total{listener}}: connections closed as they were
     * accepted because the listener was at its max_connections, read from {@code refused} at each
     * scrape (the registry holds it weakly: its owner keeps it). Once per listener name: a listener
     * a reload replaces keeps counting in the same series.
     */
    public void countRefusedConnections(String listener, java.util.concurrent.atomic.AtomicLong refused) {
        FunctionCounter.builder("sluice.listener.connections.refused", refused, java.util.concurrent.atomic.AtomicLong::get)
                .description("Client connections closed as they were accepted: the listener was at its max_connections")
                .tag("listener", listener).register(registry);
    }

    /**
     * {@code sluice_listener_connections_evicted_total{listener}}: connections waiting for their
     * clients (idle, or still sending a request head) closed to make room for a new one at the
     * listener's max_connections; read and kept as {@link #countRefusedConnections}.
     */
    public void countEvictedConnections(String listener, java.util.concurrent.atomic.AtomicLong evicted) {
        FunctionCounter.builder("sluice.listener.connections.evicted", evicted, java.util.concurrent.atomic.AtomicLong::get)
                .description("Client connections waiting for their clients (idle, or still sending a head) closed to "
                        + "make room for a new one at the listener's max_connections")
                .tag("listener", listener).register(registry);
    }

    /**
     * {@code sluice_tls_handshake_failures_total{listener,reason}}: a TLS listener's handshakes that
     * failed (timeout, not_tls, closed, refused), counted instead of logged one by one; read and
     * kept as {@link #countRefusedConnections}.
     */
    public void countHandshakeFailures(String listener, String reason, java.util.concurrent.atomic.AtomicLong failed) {
        FunctionCounter.builder("sluice.tls.handshake.failures", failed, java.util.concurrent.atomic.AtomicLong::get)
                .description("TLS handshakes that failed, by why: timeout, not_tls, closed (the client left), "
                        + "refused (no common protocol or cipher, or the client refused the certificate)")
                .tag("listener", listener).tag("reason", reason).register(registry);
    }

    /** As {@link #perCluster}, with one series per listener (label {@code listener}). */
    public void perListener(String name, String description, Supplier<Map<String, ? extends Number>> values) {
        perListener.add(new PerListener(MultiGauge.builder(name).description(description).register(registry), values));
    }

    private record PerListener(MultiGauge gauge, Supplier<Map<String, ? extends Number>> values) {
        void refresh() {
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            values.get().forEach((listener, value) -> rows.add(MultiGauge.Row.of(Tags.of("listener", listener), value)));
            gauge.register(rows, true);
        }
    }

    /**
     * Makes the per-request meters of a published snapshot: see {@link TrafficMeters#publish}.
     * Called once per snapshot, before or just after it is published; a request routed before
     * counts in the totals whichever it meets.
     */
    public void publish(Topology topology) {
        traffic.publish(topology);
        this.endpointLabels = topology.endpointLabels();
    }

    private volatile boolean endpointLabels;

    /** Whether series per endpoint are exported ({@code metrics.endpoint_labels} of the published config). */
    public boolean endpointLabels() {
        return endpointLabels;
    }

    /** Counts a finished exchange, on its event loop. */
    public void record(RequestLog e) {
        traffic.record(e);
        if (e.clientAborted()) {
            clientAborts.increment();
        }
    }

    /** Requests answered so far (every status class). */
    public long requests() {
        return traffic.requests();
    }

    /**
     * Requests that ended in a gateway-generated failure (a local reply or a cut stream) that
     * the configuration or the backends could have caused; failures the client caused (a
     * malformed or slow request, a rate limit) say nothing about a config and are left out.
     */
    public long gatewayFailures() {
        long n = 0;
        for (FailureKind kind : FailureKind.values()) {
            if (!clientCaused(kind)) {
                n += traffic.failures(kind);
            }
        }
        return n;
    }

    /** Failures the client caused (malformed, slow, rate-limited): they say nothing about a config or a cluster. */
    static boolean clientCaused(FailureKind kind) {
        return switch (kind) {
            case BAD_REQUEST, REQUEST_LINE_TOO_LONG, HEADERS_TOO_LARGE, REQUEST_HEADER_TIMEOUT, REQUEST_BODY_TIMEOUT,
                 RATE_LIMITED, METHOD_NOT_ALLOWED, REQUEST_TOO_LARGE, ACCESS_DENIED, UNAUTHENTICATED, AUTH_DENIED -> true;
            case NO_ROUTE, NO_HEALTHY_ENDPOINT, CONNECT_REFUSED, CONNECT_TIMEOUT, UPSTREAM_TLS_FAILED, CONNECT_BACKLOG_FULL,
                 CLOSED_BEFORE_SEND, STREAM_REFUSED, RESET_BEFORE_RESPONSE, RESPONSE_TIMEOUT, RESPONSE_TRUNCATED, BAD_RESPONSE,
                 OVERLOADED, APP_STARTING_TIMEOUT, APP_CRASH_LOOP, AUTH_UNAVAILABLE, AUTH_TIMEOUT -> false;
        };
    }

    /** Requests that ended in {@code kind} so far, on every route. */
    public long failures(FailureKind kind) {
        return traffic.failures(kind);
    }

    /**
     * A gauge with one series per cluster, read from {@code values} (cluster name to value) at each
     * scrape: clusters come and go with reloads, and a series for one no longer configured goes too.
     */
    public void perCluster(String name, String description, Supplier<Map<String, ? extends Number>> values) {
        perCluster.add(new PerCluster(MultiGauge.builder(name).description(description).register(registry), values));
    }

    private record PerCluster(MultiGauge gauge, Supplier<Map<String, ? extends Number>> values) {
        void refresh() {
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            values.get().forEach((cluster, value) -> rows.add(MultiGauge.Row.of(Tags.of("cluster", cluster), value)));
            gauge.register(rows, true);
        }
    }

    /**
     * Counters with one series per route and rule (labels {@code route}, {@code rule}, {@code mode}
     * and {@code scope}), read at each scrape from {@code sources}, (route, rule, mode, scope) to
     * the object {@code count} reads. A rule a
     * reload keeps (the same object) goes on counting in its series; one that changed starts its
     * series over; one no longer configured loses it. The registry holds the objects weakly; this
     * holds each one it counts from until its series goes.
     */
    public <T> void perRouteRule(String name, String description, Supplier<Map<List<String>, T>> sources,
                                 java.util.function.ToDoubleFunction<T> count) {
        perRouteRule.add(new PerRouteRule<>(name, description, sources, count));
    }

    private final class PerRouteRule<T> {
        private final String name;
        private final String description;
        private final Supplier<Map<List<String>, T>> sources;
        private final java.util.function.ToDoubleFunction<T> count;
        private final Map<List<String>, Map.Entry<T, io.micrometer.core.instrument.Meter>> registered =
                new java.util.HashMap<>();

        PerRouteRule(String name, String description, Supplier<Map<List<String>, T>> sources,
                     java.util.function.ToDoubleFunction<T> count) {
            this.name = name;
            this.description = description;
            this.sources = sources;
            this.count = count;
        }

        /** On the scraping thread; two scrapes at once take turns. */
        synchronized void refresh() {
            Map<List<String>, T> current = sources.get();
            registered.entrySet().removeIf(e -> {
                boolean gone = current.get(e.getKey()) != e.getValue().getKey();
                if (gone) {
                    registry.remove(e.getValue().getValue());
                }
                return gone;
            });
            current.forEach((labels, source) -> registered.computeIfAbsent(labels, l -> Map.entry(source,
                    FunctionCounter.builder(name, source, count).description(description)
                            .tags("route", l.get(0), "rule", l.get(1), "mode", l.get(2), "scope", l.get(3))
                            .register(registry))));
        }
    }

    /** Adds series to a family read at a scrape: one per call, label values in the order of its label names. */
    @FunctionalInterface
    public interface Rows {
        void add(double value, String... labelValues);
    }

    /**
     * A gauge family read at each scrape: {@code rows} adds its series, whose label values must
     * come from the config (never from traffic). Series that are not added are not exported, so
     * what a reload removes goes.
     */
    public void gauges(String name, String help, List<String> labelNames, java.util.function.Consumer<Rows> rows) {
        registry.getPrometheusRegistry().register(new ReadFamily(name, help, labelNames, rows, false));
    }

    /** As {@link #gauges}, for counters ({@code name} without {@code _total}, which the exposition adds). */
    public void counters(String name, String help, List<String> labelNames, java.util.function.Consumer<Rows> rows) {
        registry.getPrometheusRegistry().register(new ReadFamily(name, help, labelNames, rows, true));
    }

    private record ReadFamily(String name, String help, List<String> labelNames,
                              java.util.function.Consumer<Rows> rows, boolean counter)
            implements io.prometheus.metrics.model.registry.MultiCollector {
        @Override
        public io.prometheus.metrics.model.snapshots.MetricSnapshots collect() {
            String[] names = labelNames.toArray(String[]::new);
            io.prometheus.metrics.model.snapshots.MetricSnapshot snapshot;
            if (counter) {
                var family = io.prometheus.metrics.model.snapshots.CounterSnapshot.builder().name(name).help(help);
                rows.accept((value, values) -> family.dataPoint(io.prometheus.metrics.model.snapshots.CounterSnapshot
                        .CounterDataPointSnapshot.builder().value(value)
                        .labels(io.prometheus.metrics.model.snapshots.Labels.of(names, values)).build()));
                snapshot = family.build();
            } else {
                var family = io.prometheus.metrics.model.snapshots.GaugeSnapshot.builder().name(name).help(help);
                rows.accept((value, values) -> family.dataPoint(io.prometheus.metrics.model.snapshots.GaugeSnapshot
                        .GaugeDataPointSnapshot.builder().value(value)
                        .labels(io.prometheus.metrics.model.snapshots.Labels.of(names, values)).build()));
                snapshot = family.build();
            }
            return io.prometheus.metrics.model.snapshots.MetricSnapshots.of(snapshot);
        }

        @Override
        public List<String> getPrometheusNames() {
            return List.of(name);
        }
    }

    /** The Prometheus text exposition format. */
    public String scrape() {
        perCluster.forEach(PerCluster::refresh);
        perRouteRule.forEach(PerRouteRule::refresh);
        perListener.forEach(PerListener::refresh);
        return registry.scrape();
    }
}
