package dev.sluice.server;

import dev.sluice.exchange.Snapshot;
import dev.sluice.observe.GatewayMetrics;
import dev.sluice.observe.Topology;
import dev.sluice.resilience.RetryDecision;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The metrics of the clusters and endpoints as they are at a scrape: health, ejections, pools,
 * learned keep-alive timeouts, retry budgets. All read from what the data plane keeps anyway (the
 * published snapshot, the endpoints' own fields, the pools asked on their loops), so they cost the
 * request path nothing. Per-endpoint series only while {@code metrics.endpoint_labels} is on.
 */
final class UpstreamMetrics {
    private static final List<String> CLUSTER = List.of("cluster");
    private static final List<String> ENDPOINT = List.of("cluster", "endpoint");

    /** Where an endpoint stands for the balancer: one state each, the first that applies. */
    enum EndpointState {
        /** Answered its health check as another service: never used. */
        WRONG_IDENTITY,
        /** Not checked yet. */
        PENDING,
        /** Failed its health checks: used only in panic mode. */
        UNHEALTHY,
        /** Out of rotation after consecutive failures, for now. */
        EJECTED,
        /** Takes traffic. */
        AVAILABLE;

        final String label = name().toLowerCase(Locale.ROOT);

        static EndpointState of(Endpoint e, long now) {
            return switch (e.health()) {
                case WRONG_IDENTITY -> WRONG_IDENTITY;
                case PENDING -> PENDING;
                case UNHEALTHY -> UNHEALTHY;
                case HEALTHY -> e.isEjected(now) ? EJECTED : AVAILABLE;
            };
        }
    }

    private final Supplier<Snapshot> snapshot;
    private final Supplier<Map<Endpoint, Integer>> idleConnections;
    private final java.util.function.LongSupplier nanoClock;
    /** Per cluster, the ejections of endpoints a reload removed, so the cluster's count never goes down. */
    private final Map<String, Long> ejectionsOfRemoved = new HashMap<>();
    private final Map<String, Map<Endpoint, Long>> ejectionsSeen = new HashMap<>();

    private UpstreamMetrics(Supplier<Snapshot> snapshot, Supplier<Map<Endpoint, Integer>> idleConnections,
                            java.util.function.LongSupplier nanoClock) {
        this.snapshot = snapshot;
        this.idleConnections = idleConnections;
        this.nanoClock = nanoClock;
    }

    /** What the per-request counters of {@code snapshot} are kept for. */
    static Topology topology(Snapshot snapshot) {
        List<Topology.RouteAndCluster> routes = new ArrayList<>();
        snapshot.routes().routes().forEach(r -> {
            List<String> clusters = r.forwards() ? r.config().clusters() : List.of("");
            clusters.forEach(c -> routes.add(new Topology.RouteAndCluster(r.name(), c)));
        });
        Map<String, List<String>> endpoints = new LinkedHashMap<>();
        // By the config's endpoints, not the resolved ones: a host name's addresses (upstream.DnsRefresh)
        // come and go between reloads, and count together under the name as written.
        snapshot.clusters().forEach((name, c) -> endpoints.put(name, c.config().endpoints().stream()
                .map(e -> e.address().toString()).distinct().toList()));
        return new Topology(routes, endpoints, snapshot.config().metrics().endpointLabels(),
                Arrays.stream(RetryDecision.Why.values()).map(RetryDecision.Why::label).toList());
    }

    static void register(GatewayMetrics metrics, Supplier<Snapshot> snapshot,
                         Supplier<Map<Endpoint, Integer>> idleConnections, java.util.function.LongSupplier nanoClock) {
        UpstreamMetrics m = new UpstreamMetrics(snapshot, idleConnections, nanoClock);
        metrics.gauges("sluice_cluster_endpoints", "The cluster's endpoints by state (available, ejected, unhealthy, "
                + "pending, wrong_identity)", List.of("cluster", "state"), m::endpointsByState);
        metrics.gauges("sluice_cluster_panic", "1 while nothing in the cluster is available, so requests go to "
                + "unhealthy and ejected endpoints (panic mode)", CLUSTER, rows -> m.eachCluster((c, now) ->
                rows.add(c.panicking(now) ? 1 : 0, c.name())));
        metrics.counters("sluice_cluster_ejections", "Ejections of the cluster's endpoints by passive health "
                + "(consecutive failures)", CLUSTER, m::clusterEjections);
        metrics.gauges("sluice_cluster_retry_budget_available", "Retries the cluster's retry budget can pay for now",
                CLUSTER, rows -> m.eachCluster((c, now) -> rows.add(c.retryBudget().available(now), c.name())));
        metrics.gauges("sluice_route_backend_weight", "The weight of each backend of a route split across clusters "
                + "(routes[].backends) now: a canary's moves with its steps", List.of("route", "cluster"),
                rows -> snapshot.get().routes().routes().forEach(r -> r.split().ifPresent(split ->
                        split.weightsNow().forEach(b -> rows.add(b.weight(), r.name(), b.cluster())))));
        metrics.gauges("sluice_pool_connections", "Upstream connections of the cluster: idle in the pools, or "
                + "active (carrying a request)", List.of("cluster", "state"), m::poolConnections);
        metrics.gauges("sluice_endpoint_up", "1 while the endpoint takes traffic (healthy and not ejected)", ENDPOINT,
                rows -> m.eachEndpoint((c, e, now) -> rows.add(
                        EndpointState.of(e, now) == EndpointState.AVAILABLE ? 1 : 0, c.name(), e.address())));
        metrics.gauges("sluice_endpoint_healthy", "1 while the endpoint passes its active health checks (always 1 "
                + "without health checks)", ENDPOINT, rows -> m.eachEndpoint((c, e, now) -> rows.add(
                e.health() == Endpoint.Health.HEALTHY ? 1 : 0, c.name(), e.address())));
        metrics.gauges("sluice_endpoint_ejected", "1 while passive health keeps the endpoint out of rotation",
                ENDPOINT, rows -> m.eachEndpoint((c, e, now) -> rows.add(e.isEjected(now) ? 1 : 0, c.name(),
                        e.address())));
        metrics.counters("sluice_endpoint_ejections", "Times passive health ejected the endpoint", ENDPOINT,
                rows -> m.eachEndpoint((c, e, now) -> rows.add(e.ejectionsTotal(), c.name(), e.address())));
        metrics.gauges("sluice_endpoint_connections", "Upstream connections to the endpoint: idle in the pools, or "
                + "active (carrying a request)", List.of("cluster", "endpoint", "state"), m::endpointConnections);
        metrics.gauges("sluice_endpoint_keepalive_timeout_seconds", "The endpoint's keep-alive timeout as Sluice "
                + "learned it (advertised in Keep-Alive, or seen closing idle connections); absent until known",
                ENDPOINT, rows -> m.eachEndpoint((c, e, now) -> {
                    long learned = e.learnedKeepAliveNanos();
                    if (learned >= 0) {
                        rows.add(learned / 1e9, c.name(), e.address());
                    }
                }));
    }

    private interface EachCluster {
        void accept(Cluster cluster, long now);
    }

    private interface EachEndpoint {
        void accept(Cluster cluster, Endpoint endpoint, long now);
    }

    private void eachCluster(EachCluster each) {
        long now = nanoClock.getAsLong();
        snapshot.get().clusters().values().stream().sorted(java.util.Comparator.comparing(Cluster::name))
                .forEach(c -> each.accept(c, now));
    }

    /** Nothing while endpoint labels are off. */
    private void eachEndpoint(EachEndpoint each) {
        Snapshot s = snapshot.get();
        if (!s.config().metrics().endpointLabels()) {
            return;
        }
        eachCluster((c, now) -> c.endpoints().forEach(e -> each.accept(c, e, now)));
    }

    private void endpointConnections(GatewayMetrics.Rows rows) {
        if (!snapshot.get().config().metrics().endpointLabels()) {
            return;
        }
        Map<Endpoint, Integer> idle = idleConnections.get();
        eachEndpoint((c, e, now) -> {
            rows.add(idle.getOrDefault(e, 0), c.name(), e.address(), "idle");
            rows.add(e.inFlight(), c.name(), e.address(), "active");
        });
    }

    private void endpointsByState(GatewayMetrics.Rows rows) {
        eachCluster((c, now) -> {
            int[] counts = new int[EndpointState.values().length];
            c.endpoints().forEach(e -> counts[EndpointState.of(e, now).ordinal()]++);
            for (EndpointState state : EndpointState.values()) {
                rows.add(counts[state.ordinal()], c.name(), state.label);
            }
        });
    }

    private void poolConnections(GatewayMetrics.Rows rows) {
        Map<Endpoint, Integer> idle = idleConnections.get();
        eachCluster((c, now) -> {
            long idleCount = 0;
            long active = 0;
            for (Endpoint e : c.endpoints()) {
                idleCount += idle.getOrDefault(e, 0);
                active += e.inFlight();
            }
            rows.add(idleCount, c.name(), "idle");
            rows.add(active, c.name(), "active");
        });
    }

    /** On the scraping thread; two scrapes at once take turns. */
    private synchronized void clusterEjections(GatewayMetrics.Rows rows) {
        eachCluster((c, now) -> {
            Map<Endpoint, Long> seen = ejectionsSeen.computeIfAbsent(c.name(), k -> new IdentityHashMap<>());
            Map<Endpoint, Long> current = new IdentityHashMap<>();
            c.endpoints().forEach(e -> current.put(e, e.ejectionsTotal()));
            seen.forEach((e, n) -> {
                if (!current.containsKey(e)) {
                    ejectionsOfRemoved.merge(c.name(), n, Long::sum);
                }
            });
            seen.clear();
            seen.putAll(current);
            long total = ejectionsOfRemoved.getOrDefault(c.name(), 0L);
            for (long n : current.values()) {
                total += n;
            }
            rows.add(total, c.name());
        });
    }
}
