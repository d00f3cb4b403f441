package dev.sluice.observe;

import dev.sluice.failure.FailureKind;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters of finished requests, by route, cluster and endpoint: what {@link #record} adds to
 * on the event loops and {@link #collect} exports at a scrape.
 *
 * <p>The meters of a route, cluster and endpoint are made when a snapshot is published
 * ({@link #publish}), never on the request path: recording looks its route's meters up by name in
 * a map that only publication replaces, then adds to {@link LongAdder}s (each event loop touches
 * cells of its own). Meters of what a reload keeps go on counting; those of what it removes go,
 * with their series.
 */
final class TrafficMeters implements MultiCollector {
    private static final FailureKind[] KINDS = FailureKind.values();
    private static final RequestLog.StatusSource[] SOURCES = RequestLog.StatusSource.values();
    /** Status classes 1xx to 5xx, at index class - 1. */
    private static final int CLASSES = 5;
    /** The access log's protocol of an HTTP/2 stream ({@code server.ClientStream.PROTOCOL}). */
    private static final String HTTP2 = "HTTP/2.0";

    /**
     * The protocol the client spoke, the {@code protocol} label of {@code sluice_requests}: two
     * values, so at most twice its series (and the HTTP/2 ones only once counted). Not a label of
     * the failures or the duration histograms, where it would double the larger families for what
     * the access log already says per request.
     */
    enum Protocol {
        /** HTTP/1.1 and 1.0. */
        HTTP1_1("http1.1"),
        H2("h2");

        private final String label;

        Protocol(String label) {
            this.label = label;
        }

        String label() {
            return label;
        }

        static Protocol of(RequestLog log) {
            return HTTP2.equals(log.protocol()) ? H2 : HTTP1_1;
        }
    }

    private static final Protocol[] PROTOCOLS = Protocol.values();

    /** Requests answered and failures, by status class, source and protocol, and by failure kind. */
    static final class Counts {
        private final LongAdder[] responses = adders(CLASSES * SOURCES.length * PROTOCOLS.length);
        private final LongAdder[] failures = adders(KINDS.length);

        void count(int statusClass, RequestLog.StatusSource source, Protocol protocol, FailureKind failure) {
            if (statusClass >= 1 && statusClass <= CLASSES) {
                responses[index(statusClass, source, protocol)].increment();
            }
            if (failure != null) {
                failures[failure.ordinal()].increment();
            }
        }

        private static int index(int statusClass, RequestLog.StatusSource source, Protocol protocol) {
            return ((statusClass - 1) * SOURCES.length + source.ordinal()) * PROTOCOLS.length + protocol.ordinal();
        }

        long responses(int statusClass, RequestLog.StatusSource source, Protocol protocol) {
            return responses[index(statusClass, source, protocol)].sum();
        }

        long failures(FailureKind kind) {
            return failures[kind.ordinal()].sum();
        }

        long requests() {
            long n = 0;
            for (LongAdder a : responses) {
                n += a.sum();
            }
            return n;
        }
    }

    /** One route and its cluster (or no route: both {@code ""}). */
    static final class RouteMeters {
        final String route;
        final String cluster;
        final Counts counts = new Counts();
        final LatencyHistogram duration = new LatencyHistogram();
        /** Its cluster's meters in the publication that made this row; null for no cluster. */
        ClusterMeters clusterMeters;

        RouteMeters(String route, String cluster) {
            this.route = route;
            this.cluster = cluster;
        }
    }

    static final class ClusterMeters {
        final String name;
        final LatencyHistogram upstream = new LatencyHistogram();
        final LongAdder attemptsOnNewConnections = new LongAdder();
        final LongAdder attemptsOnReusedConnections = new LongAdder();
        final Map<String, LongAdder> decisions = new LinkedHashMap<>();
        /** By address; empty when endpoint labels are off. Replaced whole at publication. */
        volatile Map<String, EndpointMeters> endpoints = Map.of();

        ClusterMeters(String name, List<String> decisionLabels) {
            this.name = name;
            decisionLabels.forEach(label -> decisions.put(label, new LongAdder()));
        }
    }

    static final class EndpointMeters {
        final LongAdder attempts = new LongAdder();
        final LongAdder[] failures = adders(KINDS.length);
    }

    private record Published(Topology topology, RouteMeters unrouted, Map<String, RouteMeters> routes,
                             List<RouteMeters> routeOrder, Map<String, ClusterMeters> clusters) {}

    /** Every request, whatever its route: what the bake and {@code requests()} read. */
    private final Counts totals = new Counts();
    private volatile Published published;

    TrafficMeters() {
        RouteMeters unrouted = new RouteMeters("", "");
        published = new Published(Topology.NONE, unrouted, Map.of(), List.of(), Map.of());
    }

    /**
     * Makes the meters of {@code topology}, keeping those of the routes, clusters and endpoints
     * it shares with the one before. Called by the control plane, one publication at a time.
     */
    synchronized void publish(Topology topology) {
        Published before = published;
        Map<String, ClusterMeters> clusters = new LinkedHashMap<>();
        topology.endpoints().keySet().stream().sorted().forEach(name -> {
            ClusterMeters kept = before.clusters.get(name);
            ClusterMeters meters = kept != null && kept.decisions.keySet().equals(
                    new java.util.LinkedHashSet<>(topology.retryDecisions()))
                    ? kept : new ClusterMeters(name, topology.retryDecisions());
            Map<String, EndpointMeters> endpoints = new LinkedHashMap<>();
            if (topology.endpointLabels()) {
                for (String address : topology.endpoints().get(name)) {
                    EndpointMeters e = kept == null ? null : kept.endpoints.get(address);
                    endpoints.put(address, e != null ? e : new EndpointMeters());
                }
            }
            meters.endpoints = endpoints;
            clusters.put(name, meters);
        });
        Map<String, RouteMeters> routes = new HashMap<>();
        List<RouteMeters> order = new java.util.ArrayList<>();
        for (Topology.RouteAndCluster rc : topology.routes()) {
            // A split route has a row per backend: its first under the route's name, the others under both names.
            String key = routes.containsKey(rc.route()) ? splitKey(rc.route(), rc.cluster()) : rc.route();
            RouteMeters kept = before.routes.get(key);
            RouteMeters meters = kept != null && kept.cluster.equals(rc.cluster()) ? kept
                    : new RouteMeters(rc.route(), rc.cluster());
            meters.clusterMeters = clusters.get(rc.cluster());
            routes.put(key, meters);
            order.add(meters);
        }
        published = new Published(topology, before.unrouted, routes, List.copyOf(order), clusters);
    }

    /** The key of a split route's row for one of its backends after the first (names hold no spaces). */
    private static String splitKey(String route, String cluster) {
        return route + " " + cluster;
    }

    /** Counts a finished request; on its event loop, once, after {@code completed}. */
    void record(RequestLog log) {
        int statusClass = log.status() / 100;
        RequestLog.StatusSource source = log.statusSource();
        FailureKind failure = log.failure();
        Protocol protocol = Protocol.of(log);
        totals.count(statusClass, source, protocol, failure);
        Published p = published;
        String route = log.route();
        RouteMeters row = route == null ? p.unrouted : p.routes.get(route);
        if (row != null && !row.cluster.equals(log.cluster() == null ? "" : log.cluster())) {
            // Another backend of a split route; else routed by the snapshot before a reload that sent
            // its route elsewhere: counted in the totals only.
            row = p.routes.get(splitKey(route, log.cluster()));
        }
        if (row != null) {
            row.counts.count(statusClass, source, protocol, failure);
            if (log.totalNanos() > 0) {
                row.duration.record(log.totalNanos());
            }
        }
        ClusterMeters cluster = row != null ? row.clusterMeters
                : log.cluster() == null ? null : p.clusters.get(log.cluster());
        if (cluster != null) {
            recordAtCluster(cluster, log);
        }
    }

    private static void recordAtCluster(ClusterMeters cluster, RequestLog log) {
        if (log.upstreamNanos() > 0) {
            cluster.upstream.record(log.upstreamNanos());
        }
        Map<String, EndpointMeters> endpoints = cluster.endpoints;
        List<RequestLog.Attempt> ended = log.attempts();
        for (int i = 0; i < ended.size(); i++) {
            RequestLog.Attempt a = ended.get(i);
            (a.reused() ? cluster.attemptsOnReusedConnections : cluster.attemptsOnNewConnections).increment();
            LongAdder decision = a.decisionLabel() == null ? null : cluster.decisions.get(a.decisionLabel());
            if (decision != null) {
                decision.increment();
            }
            EndpointMeters e = endpoints.isEmpty() || a.endpoint() == null ? null : endpoints.get(a.endpoint());
            if (e != null) {
                e.attempts.increment();
                if (a.failure() != null) {
                    e.failures[a.failure().ordinal()].increment();
                }
            }
        }
        if (log.attemptCount() > ended.size()) {
            // The attempt that ended the request: its response reached the client.
            (log.connectionReused() ? cluster.attemptsOnReusedConnections : cluster.attemptsOnNewConnections)
                    .increment();
            EndpointMeters e = endpoints.isEmpty() || log.endpoint() == null ? null : endpoints.get(log.endpoint());
            if (e != null) {
                e.attempts.increment();
            }
        }
    }

    long requests() {
        return totals.requests();
    }

    long failures(FailureKind kind) {
        return totals.failures(kind);
    }

    /**
     * Whether a series is exported while still 0. Prometheus's advice is to export every series
     * that can happen from the start ("avoid missing metrics"), so a rate or an alert sees the
     * first increment; those that cannot happen at a row (a backend status for a route that
     * answers itself, a refused head on a route) would only add zero series, and show once
     * counted.
     */
    private static boolean expected(boolean routed, boolean forwards, int statusClass, RequestLog.StatusSource source) {
        return switch (source) {
            case BACKEND -> forwards && statusClass >= 2;
            case GATEWAY -> statusClass >= 4 || !forwards && routed;
            case CLIENT -> statusClass == 4;
        };
    }

    /** The kinds a request can fail with before a route takes it (the others, after). */
    static boolean beforeRouting(FailureKind kind) {
        return switch (kind) {
            case BAD_REQUEST, REQUEST_LINE_TOO_LONG, HEADERS_TOO_LARGE, REQUEST_HEADER_TIMEOUT, NO_ROUTE,
                 METHOD_NOT_ALLOWED -> true;
            case REQUEST_TOO_LARGE, NO_HEALTHY_ENDPOINT, CONNECT_REFUSED, CONNECT_TIMEOUT, UPSTREAM_TLS_FAILED,
                 CONNECT_BACKLOG_FULL,
                 CLOSED_BEFORE_SEND, STREAM_REFUSED, RESET_BEFORE_RESPONSE, RESPONSE_TIMEOUT, RESPONSE_TRUNCATED, BAD_RESPONSE,
                 OVERLOADED, RATE_LIMITED, APP_STARTING_TIMEOUT, APP_CRASH_LOOP, REQUEST_BODY_TIMEOUT, ACCESS_DENIED, UNAUTHENTICATED,
                 AUTH_DENIED, AUTH_UNAVAILABLE, AUTH_TIMEOUT -> false;
        };
    }

    /** The kinds an attempt at an endpoint can fail with: the endpoint's own failures. */
    static boolean ofAnAttempt(FailureKind kind) {
        return switch (kind) {
            case CONNECT_REFUSED, CONNECT_TIMEOUT, UPSTREAM_TLS_FAILED, CONNECT_BACKLOG_FULL, CLOSED_BEFORE_SEND,
                 STREAM_REFUSED, RESET_BEFORE_RESPONSE,
                 RESPONSE_TIMEOUT, RESPONSE_TRUNCATED, BAD_RESPONSE -> true;
            case BAD_REQUEST, REQUEST_LINE_TOO_LONG, HEADERS_TOO_LARGE, REQUEST_HEADER_TIMEOUT, NO_ROUTE,
                 METHOD_NOT_ALLOWED, REQUEST_TOO_LARGE, NO_HEALTHY_ENDPOINT, OVERLOADED, RATE_LIMITED,
                 APP_STARTING_TIMEOUT, APP_CRASH_LOOP, REQUEST_BODY_TIMEOUT, ACCESS_DENIED, UNAUTHENTICATED, AUTH_DENIED,
                 AUTH_UNAVAILABLE, AUTH_TIMEOUT -> false;
        };
    }

    @Override
    public MetricSnapshots collect() {
        Published p = published;
        CounterSnapshot.Builder requests = CounterSnapshot.builder().name("sluice_requests")
                .help("Requests answered, by route, cluster, status class, who made the status "
                        + "(backend, gateway, or client: it left first) and the protocol the client spoke (http1.1, h2)");
        CounterSnapshot.Builder failures = CounterSnapshot.builder().name("sluice_failures")
                .help("Requests that ended in a failure Sluice reported (x-sluice-error), by route, cluster and kind");
        HistogramSnapshot.Builder duration = HistogramSnapshot.builder().name("sluice_request_duration_seconds")
                .help("From the request's first byte to its response's last, by route and cluster");
        List<RouteMeters> rows = new java.util.ArrayList<>();
        rows.add(p.unrouted);
        rows.addAll(p.routeOrder);
        for (RouteMeters row : rows) {
            boolean routed = !row.route.isEmpty();
            boolean forwards = !row.cluster.isEmpty();
            for (int c = 1; c <= CLASSES; c++) {
                for (RequestLog.StatusSource source : SOURCES) {
                    for (Protocol protocol : PROTOCOLS) {
                        long n = row.counts.responses(c, source, protocol);
                        // HTTP/1.1's expected series from the start; HTTP/2's once it is spoken.
                        if (n > 0 || protocol == Protocol.HTTP1_1 && expected(routed, forwards, c, source)) {
                            requests.dataPoint(counter(n, "route", row.route, "cluster", row.cluster, "code",
                                    c + "xx", "source", source.label(), "protocol", protocol.label()));
                        }
                    }
                }
            }
            for (FailureKind kind : KINDS) {
                long n = row.counts.failures(kind);
                if (n > 0 || routed != beforeRouting(kind)) {
                    failures.dataPoint(counter(n, "route", row.route, "cluster", row.cluster, "kind", kind.label()));
                }
            }
            duration.dataPoint(histogram(row.duration, Labels.of("route", row.route, "cluster", row.cluster)));
        }
        HistogramSnapshot.Builder upstream = HistogramSnapshot.builder().name("sluice_upstream_duration_seconds")
                .help("From the request's last byte reaching the endpoint to the response's last byte, by cluster");
        CounterSnapshot.Builder attempts = CounterSnapshot.builder().name("sluice_attempts")
                .help("Tries of a request at an endpoint (the first and every retry), by cluster and whether the "
                        + "connection was new or reused from the pool");
        CounterSnapshot.Builder decisions = CounterSnapshot.builder().name("sluice_retry_decisions")
                .help("What the retry policy decided after a failed attempt or a retried status, by cluster and decision");
        CounterSnapshot.Builder endpointAttempts = CounterSnapshot.builder().name("sluice_endpoint_attempts")
                .help("Tries of a request at the endpoint");
        CounterSnapshot.Builder endpointFailures = CounterSnapshot.builder().name("sluice_endpoint_failures")
                .help("Tries at the endpoint that failed, by kind");
        for (ClusterMeters cluster : p.clusters.values()) {
            upstream.dataPoint(histogram(cluster.upstream, Labels.of("cluster", cluster.name)));
            attempts.dataPoint(counter(cluster.attemptsOnNewConnections.sum(), "cluster", cluster.name,
                    "connection", "new"));
            attempts.dataPoint(counter(cluster.attemptsOnReusedConnections.sum(), "cluster", cluster.name,
                    "connection", "reused"));
            cluster.decisions.forEach((label, n) -> decisions.dataPoint(counter(n.sum(), "cluster", cluster.name,
                    "decision", label)));
            cluster.endpoints.forEach((address, e) -> {
                endpointAttempts.dataPoint(counter(e.attempts.sum(), "cluster", cluster.name, "endpoint", address));
                for (FailureKind kind : KINDS) {
                    if (ofAnAttempt(kind)) {
                        endpointFailures.dataPoint(counter(e.failures[kind.ordinal()].sum(), "cluster", cluster.name,
                                "endpoint", address, "kind", kind.label()));
                    }
                }
            });
        }
        MetricSnapshots.Builder all = MetricSnapshots.builder().metricSnapshot(requests.build())
                .metricSnapshot(failures.build()).metricSnapshot(duration.build()).metricSnapshot(upstream.build())
                .metricSnapshot(attempts.build()).metricSnapshot(decisions.build());
        if (p.topology.endpointLabels()) {
            all.metricSnapshot(endpointAttempts.build()).metricSnapshot(endpointFailures.build());
        }
        return all.build();
    }

    @Override
    public List<String> getPrometheusNames() {
        return List.of("sluice_requests", "sluice_failures", "sluice_request_duration_seconds",
                "sluice_upstream_duration_seconds", "sluice_attempts", "sluice_retry_decisions",
                "sluice_endpoint_attempts", "sluice_endpoint_failures");
    }

    private static CounterDataPointSnapshot counter(double value, String... labels) {
        return CounterDataPointSnapshot.builder().value(value).labels(Labels.of(labels)).build();
    }

    private static HistogramDataPointSnapshot histogram(LatencyHistogram h, Labels labels) {
        double[] bounds = java.util.Arrays.copyOf(LatencyHistogram.BOUNDS_SECONDS,
                LatencyHistogram.BOUNDS_SECONDS.length + 1);
        bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
        return HistogramDataPointSnapshot.builder().classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, h.counts()))
                .sum(h.sumSeconds()).labels(labels).build();
    }

    private static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }
}
