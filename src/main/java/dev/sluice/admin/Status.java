package dev.sluice.admin;

import dev.sluice.config.ConfigVersion;
import dev.sluice.config.ListenerConfig;
import dev.sluice.server.Gateway;
import dev.sluice.server.ListenerLoad;
import dev.sluice.resilience.ConcurrencyGate;
import dev.sluice.resilience.GlobalBuckets;
import dev.sluice.resilience.RateLimiter;
import dev.sluice.resilience.RedisBuckets;
import dev.sluice.resilience.RedisHealth;
import dev.sluice.route.Route;
import dev.sluice.upstream.Cluster;
import dev.sluice.upstream.Endpoint;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code GET /status} answers: the running config's version and standing, and the gateway
 * as it is now (listeners, routes, clusters and their endpoints). Read on the admin thread from
 * the published snapshot and the endpoints' own counters; no event loop waits for it.
 *
 * @param config the version serving now
 * @param configFileDiffers the config file no longer holds the running config (a rollback, or an edit not reloaded)
 * @param stateDir where versions are kept; empty when only in memory
 * @param draining a drain has started: {@code /ready} answers 503 and the listeners are on their way out
 * @param traffic each cluster's traffic over the incident window, by cluster name (the incident
 *     watch's {@code traffic()}): shown as {@code traffic} on each cluster, its endpoints and its routes
 * @param canaries each canary route's run (the canaries' {@code toJson()}): shown as {@code canary} on its route
 */
public record Status(Gateway gateway, ConfigVersion config, Optional<Integer> lastKnownGood, boolean configFileDiffers,
                     Optional<Path> stateDir, boolean draining, Duration uptime, long accessLogDroppedLines,
                     Map<String, Object> traffic, List<Map<String, Object>> canaries) {

    /** Without canaries. */
    public Status(Gateway gateway, ConfigVersion config, Optional<Integer> lastKnownGood, boolean configFileDiffers,
                  Optional<Path> stateDir, boolean draining, Duration uptime, long accessLogDroppedLines,
                  Map<String, Object> traffic) {
        this(gateway, config, lastKnownGood, configFileDiffers, stateDir, draining, uptime, accessLogDroppedLines,
                traffic, List.of());
    }

    /** Without traffic figures (an instance without an incident watch). */
    public Status(Gateway gateway, ConfigVersion config, Optional<Integer> lastKnownGood, boolean configFileDiffers,
                  Optional<Path> stateDir, boolean draining, Duration uptime, long accessLogDroppedLines) {
        this(gateway, config, lastKnownGood, configFileDiffers, stateDir, draining, uptime, accessLogDroppedLines,
                Map.of());
    }

    /** As JSON fields, in the order an operator reads them; endpoint state as of {@code nowNanos}. */
    Map<String, Object> toJson(long nowNanos) {
        var snapshot = gateway.snapshot();
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("state", draining ? "draining" : "serving");
        status.put("config_version", config.number());
        status.put("config_outcome", config.outcome().label());
        status.put("config_sha256", config.sha256());
        status.put("config_source", config.source());
        status.put("last_known_good", lastKnownGood.orElse(null));
        status.put("config_file_differs", configFileDiffers);
        status.put("state_dir", stateDir.map(Path::toString).orElse(null));
        status.put("uptime_seconds", uptime.toSeconds());
        status.put("client_connections", gateway.openClientConnections());
        status.put("requests_in_flight", gateway.activeExchanges());
        status.put("websocket_tunnels", gateway.openTunnels());
        status.put("access_log_dropped_lines", accessLogDroppedLines);
        List<Map<String, Object>> listeners = new ArrayList<>();
        List<InetSocketAddress> bound = gateway.boundAddresses();
        Map<String, ListenerLoad> loads = new LinkedHashMap<>();
        gateway.listenerLoads().forEach(load -> loads.put(load.name(), load));
        for (int i = 0; i < snapshot.config().listeners().size() && i < bound.size(); i++) {
            ListenerConfig l = snapshot.config().listeners().get(i);
            Map<String, Object> listener = new LinkedHashMap<>();
            listener.put("name", l.name());
            listener.put("address", bound.get(i).getHostString() + ":" + bound.get(i).getPort());
            listener.put("state", draining ? "draining" : "active");
            ListenerLoad load = loads.get(l.name());
            if (load != null) {
                listener.put("connections", load.connections());
                listener.put("max_connections", load.maxConnections());
                listener.put("max_connections_auto", load.maxConnectionsAuto());
                listener.put("connections_refused", load.refused());
                // Waiting connections (idle, or sending a head) closed to make room at the limit.
                listener.put("connections_evicted", load.evicted());
                // Below the configured idle_timeout while the listener is more than 80% full.
                listener.put("idle_timeout_ms", load.idleTimeout().toMillis());
            }
            listeners.add(listener);
        }
        status.put("listeners", listeners);
        status.put("redis", redis());
        List<Map<String, Object>> routes = new ArrayList<>();
        for (Route r : snapshot.routes().routes()) {
            Map<String, Object> route = route(r);
            if (r.tapped()) {
                route.putAll(gateway.taps().status(r));
            }
            if (r.forwards() && traffic.get(r.cluster()) instanceof Map<?, ?> t && t.get("routes") instanceof Map<?, ?> byRoute
                    && byRoute.get(r.name()) != null) {
                route.put("traffic", byRoute.get(r.name()));
            }
            r.split().ifPresent(split -> {
                route.put("backends", split.weightsNow().stream().map(b -> {
                    Map<String, Object> backend = new LinkedHashMap<>();
                    backend.put("cluster", b.cluster());
                    backend.put("weight", b.weight());
                    return backend;
                }).toList());
                canaries.stream().filter(c -> r.name().equals(c.get("route"))).findFirst()
                        .ifPresent(c -> route.put("canary", c));
            });
            routes.add(route);
        }
        status.put("routes", routes);
        List<Map<String, Object>> clusters = new ArrayList<>();
        for (Cluster c : snapshot.clusters().values()) {
            Map<String, Object> cluster = cluster(c, nowNanos);
            if (traffic.get(c.name()) instanceof Map<?, ?> t) {
                Map<String, Object> summary = new LinkedHashMap<>();
                t.forEach((k, v) -> {
                    if (!k.equals("endpoints") && !k.equals("routes")) {
                        summary.put((String) k, v);
                    }
                });
                cluster.put("traffic", summary);
                if (t.get("endpoints") instanceof Map<?, ?> byEndpoint) {
                    for (Object e : (List<?>) cluster.get("endpoints")) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> endpoint = (Map<String, Object>) e;
                        Object figures = byEndpoint.get(endpoint.get("address"));
                        if (figures != null) {
                            endpoint.put("traffic", figures);
                        }
                    }
                }
            }
            clusters.add(cluster);
        }
        status.put("clusters", clusters);
        // The apps behind clusters, with their process state ("crash_loop", ...): GET /apps shows the same.
        status.put("apps", gateway.apps().statuses().stream().map(dev.sluice.apps.AppStatus::toJson).toList());
        return status;
    }

    /**
     * Where global rate limits count: {@code shared} (Redis decides), {@code fallback} (local
     * buckets of rate/replicas decide, since {@code since}, for {@code why}) or
     * {@code not configured}.
     */
    private Map<String, Object> redis() {
        Map<String, Object> redis = new LinkedHashMap<>();
        Optional<RedisBuckets> configured = gateway.redis();
        if (configured.isEmpty()) {
            redis.put("state", "not configured");
            return redis;
        }
        RedisBuckets r = configured.get();
        RedisHealth.Standing standing = r.health().standing();
        GlobalBuckets.Replicas replicas = r.replicas();
        redis.put("address", r.config().address().toString());
        redis.put("state", standing.state().name().toLowerCase(Locale.ROOT));
        redis.put("since", Instant.ofEpochMilli(standing.sinceMillis()).toString());
        redis.put("why", standing.why());
        redis.put("timeout_ms", r.config().timeout().toMillis());
        redis.put("replicas", replicas.count());
        redis.put("replicas_from", replicas.from());
        redis.put("errors", r.health().errors());
        return redis;
    }

    private static Map<String, Object> route(Route r) {
        Map<String, Object> route = new LinkedHashMap<>();
        route.put("name", r.name());
        if (r.forwards()) {
            route.put("cluster", r.cluster());
        } else {
            // A route that answers itself has no cluster: say what it answers with.
            route.put("cluster", null);
            route.put("answers", switch (r.answer()) {
                case dev.sluice.config.LocalAnswerConfig.Redirect redirect -> "redirect " + redirect.status();
                case dev.sluice.config.LocalAnswerConfig.Respond respond -> "respond " + respond.status();
            });
        }
        List<Map<String, Object>> rules = new ArrayList<>();
        for (RateLimiter rule : r.rateLimits().rules()) {
            Map<String, Object> limit = new LinkedHashMap<>();
            limit.put("name", rule.name());
            limit.put("key", rule.config().key().text());
            limit.put("scope", rule.config().scope().name().toLowerCase(Locale.ROOT));
            limit.put("mode", rule.config().mode().name().toLowerCase(Locale.ROOT));
            limit.put("refused", rule.refused());
            limit.put("shadow_refused", rule.shadowRefused());
            // A global rule's keys are in Redis; those held here are its fallback buckets'.
            limit.put("keys_held", rule.keysHeld());
            rules.add(limit);
        }
        if (!rules.isEmpty()) {
            route.put("rate_limits", rules);
        }
        return route;
    }

    private Map<String, Object> cluster(Cluster c, long now) {
        List<Map<String, Object>> endpoints = new ArrayList<>();
        for (Endpoint e : c.endpoints()) {
            Map<String, Object> endpoint = new LinkedHashMap<>();
            endpoint.put("address", e.address());
            if (e.fromName()) {
                // One of the addresses its host name resolved to; a lost name's are used only in panic mode.
                endpoint.put("resolved", e.socketAddress().getAddress().getHostAddress());
                endpoint.put("name_lost", e.nameLost());
            }
            endpoint.put("labels", e.labels());
            endpoint.put("weight", e.weight());
            endpoint.put("health", e.health().name().toLowerCase(Locale.ROOT));
            endpoint.put("ejected", e.isEjected(now));
            endpoint.put("in_flight", e.inFlight());
            endpoint.put("keep_alive_timeout_ms", e.observedIdleCloseNanos() < 0 ? null
                    : e.observedIdleCloseNanos() / 1_000_000);
            if (e.idleTimeoutRaces()) {
                endpoint.put("warning", "idle_timeout is not below the backend's keep-alive timeout");
            }
            endpoints.add(endpoint);
        }
        Map<String, Object> cluster = new LinkedHashMap<>();
        cluster.put("name", c.name());
        cluster.put("load_balancer", c.config().loadBalancer().name().toLowerCase(Locale.ROOT));
        c.config().sticky().ifPresent(sticky -> cluster.put("sticky", switch (sticky) {
            case dev.sluice.config.StickyConfig.Cookie cookie -> "cookie " + cookie.name();
            case dev.sluice.config.StickyConfig.Hash hash -> "hash " + hash.source().text();
        }));
        // Panic mode: nothing healthy is left, so requests go to unhealthy and ejected endpoints.
        cluster.put("panic", c.panicking(now));
        cluster.put("retry_budget_available", c.retryBudget().available(now));
        ConcurrencyGate gate = c.concurrency();
        Map<String, Object> concurrency = new LinkedHashMap<>();
        concurrency.put("mode", gate.config().mode().name().toLowerCase(Locale.ROOT));
        concurrency.put("limit", gate.limit());
        concurrency.put("in_flight", gate.inFlight());
        concurrency.put("queued", gate.queued());
        concurrency.put("shed", gate.shed());
        if (gate.config().mode() == dev.sluice.config.ConcurrencyConfig.Mode.ADAPTIVE) {
            // What the adaptive limit steers by: the backend's latency without load (null until
            // first measured), and whether it is measuring it now (the limit held at 3 meanwhile).
            long baseline = gate.baselineNanos();
            concurrency.put("baseline_ms", baseline == 0 ? null : Math.round(baseline / 1e4) / 100.0);
            concurrency.put("probing", gate.probing());
        }
        cluster.put("concurrency", concurrency);
        if (!c.config().select().isEmpty()) {
            cluster.put("select", c.config().select());
        }
        List<Map<String, Object>> names = new ArrayList<>();
        for (dev.sluice.upstream.DnsRefresh.Standing standing : gateway.dnsRefresh().standings(c.name())) {
            Map<String, Object> name = new LinkedHashMap<>();
            name.put("name", standing.name());
            name.put("state", standing.state());
            name.put("addresses", standing.addresses());
            name.put("failures_in_a_row", standing.failuresInARow());
            name.put("error", standing.error());
            name.put("dns_refresh_ms", standing.refresh().toMillis());
            names.add(name);
        }
        if (!names.isEmpty()) {
            // Host names and how they resolve (see docs/configuration.md, clusters[].dns_refresh).
            cluster.put("names", names);
        }
        gateway.kubernetes().standing(c.name()).ifPresent(k -> {
            // Where the endpoints come from (see docs/configuration.md, clusters[].kubernetes).
            Map<String, Object> watch = new LinkedHashMap<>();
            watch.put("service", k.name());
            watch.put("watch", k.watch());
            watch.put("service_state", k.service());
            watch.put("resource_version", k.resourceVersion());
            watch.put("ready", k.ready());
            watch.put("terminating", k.terminating());
            watch.put("not_ready", k.notReady());
            watch.put("error", k.error());
            watch.put("overlaps", k.overlaps());
            cluster.put("kubernetes", watch);
        });
        cluster.put("endpoints", endpoints);
        return cluster;
    }
}
