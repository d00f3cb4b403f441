package dev.sluice.exchange;

import dev.sluice.config.ClusterConfig;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.ForwardAuthConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.resilience.ConcurrencyGate;
import dev.sluice.route.Route;
import dev.sluice.route.RouteTable;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import io.netty.handler.codec.http.HttpRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Everything a request needs to be routed, built whole by the control plane and published with
 * one volatile write. A request reads the snapshot once and uses it to the end, so a reload
 * never shows it half of one config and half of another.
 */
public record Snapshot(SluiceConfig config, RouteTable routes, Map<String, Cluster> clusters) {

    /** The route step: the first route that matches {@code request} (whose host is {@code host}), and its cluster. */
    public Routed route(HttpRequest request, String host) {
        Route route = routes.match(request, host);
        if (route == null) {
            var allowed = routes.methodsFor(request, host);
            return allowed.isEmpty() ? Routed.NOWHERE : new Routed.WrongMethod(allowed);
        }
        if (!route.forwards()) {
            return new Routed.To(route, null);
        }
        // A route's clusters always exist: the config is validated whole before it becomes a snapshot.
        return new Routed.To(route, clusters.get(route.split()
                .map(split -> BackendChoice.of(split, request, ThreadLocalRandom.current())).orElse(route.cluster())));
    }

    /**
     * The file's clusters, and one with the defaults for each address a route's
     * {@code forward_auth.url} names (routes naming the same address share it), so checks are
     * balanced, pooled and ejected like any request, and their endpoints kept across reloads.
     */
    private static List<ClusterConfig> withForwardAuthUrls(SluiceConfig config) {
        List<ClusterConfig> all = new ArrayList<>(config.clusters());
        Map<String, ClusterConfig> made = new LinkedHashMap<>();
        for (var route : config.routes()) {
            route.forwardAuth().ifPresent(auth -> {
                if (auth.service() instanceof ForwardAuthConfig.Url url) {
                    made.putIfAbsent(url.clusterName(),
                            ClusterConfig.of(url.clusterName(), List.of(EndpointConfig.of(url.address()))));
                }
            });
        }
        all.addAll(made.values());
        return all;
    }

    /**
     * Builds a snapshot, keeping the {@link Endpoint} objects of {@code previous} whose cluster
     * and address are unchanged, so their pools and state survive a reload, and likewise the
     * clusters' unchanged concurrency gates and the routes' unchanged rate limits.
     *
     * @param nanoClock the gateway's clock: now, and what rate limits refill by
     */
    /** The endpoints a host name of {@code was} resolved to, kept (or remade, when their labels or weight changed). */
    private static List<Endpoint> resolvedSoFar(Cluster was, ClusterConfig cc, EndpointConfig ec, long nowNanos) {
        List<Endpoint> found = new ArrayList<>();
        if (was == null) {
            return found;
        }
        String address = ec.address().toString();
        for (Endpoint e : was.endpoints()) {
            if (e.fromName() && e.address().equals(address)) {
                found.add(e.labels().equals(ec.labels()) && e.weight() == ec.weight() ? e
                        : Endpoint.resolved(cc.name(), address, e.socketAddress().getAddress(), ec.address().port(),
                                ec.labels(), ec.weight(), cc.healthCheck().isPresent(), nowNanos));
            }
        }
        return found;
    }

    public static Snapshot build(SluiceConfig config, Snapshot previous, java.util.function.LongSupplier nanoClock) {
        long nowNanos = nanoClock.getAsLong();
        Map<String, Endpoint> known = new HashMap<>();
        if (previous != null) {
            for (Cluster c : previous.clusters.values()) {
                for (Endpoint e : c.endpoints()) {
                    known.put(c.name() + "|" + e.address(), e);
                }
            }
        }
        Map<String, Cluster> clusters = new LinkedHashMap<>();
        for (ClusterConfig cc : withForwardAuthUrls(config)) {
            List<Endpoint> endpoints = new ArrayList<>();
            Cluster was = previous == null ? null : previous.clusters.get(cc.name());
            if (cc.kubernetes().isPresent() && was != null
                    && cc.kubernetes().get().sameService(was.config().kubernetes().orElse(null))) {
                // The Service's endpoints so far (kubernetes.KubernetesDiscovery keeps them current);
                // a new or changed Service starts with none, until its first listing.
                endpoints.addAll(was.endpoints());
            }
            for (EndpointConfig ec : cc.endpoints()) {
                String address = ec.address().toString();
                if (!ec.address().isIpLiteral()) {
                    // A host name: the addresses it resolved to so far stay (upstream.DnsRefresh
                    // keeps them current); a new name starts with none, until its first answer.
                    endpoints.addAll(resolvedSoFar(was, cc, ec, nowNanos));
                    continue;
                }
                Endpoint e = known.get(cc.name() + "|" + address);
                // Changed TLS settings make new endpoints, so no connection made with the old ones is reused.
                boolean tlsChanged = was != null && !was.config().tls().equals(cc.tls());
                if (e == null || tlsChanged || !e.labels().equals(ec.labels()) || e.weight() != ec.weight()) {
                    e = new Endpoint(cc.name(), address, ec.address().toSocketAddress(), ec.labels(), ec.weight(),
                            cc.healthCheck().isPresent(), nowNanos);
                }
                endpoints.add(e);
            }
            Cluster before = previous == null ? null : previous.clusters.get(cc.name());
            // Unchanged concurrency settings keep the gate: its learned limit, and the requests it counts.
            ConcurrencyGate gate = before != null && before.concurrency().config().equals(cc.concurrency())
                    ? before.concurrency() : new ConcurrencyGate(cc.concurrency());
            clusters.put(cc.name(), new Cluster(cc, endpoints, nowNanos, gate));
        }
        // Unchanged rate limits are kept too: a reload is no way for a client to get its burst back.
        return new Snapshot(config, new RouteTable(config.routes(), previous == null ? null : previous.routes, nanoClock),
                Map.copyOf(clusters));
    }
}
