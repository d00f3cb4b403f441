package dev.sluice.server;

import dev.sluice.apps.AppState;
import dev.sluice.apps.AppStatus;
import dev.sluice.observe.GatewayMetrics;
import dev.sluice.resilience.RateLimiter;
import dev.sluice.resilience.RedisBuckets;
import dev.sluice.upstream.Cluster;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The gateway's own gauges and counters beside the per-request ones: requests and connections
 * open, each listener's load, each cluster's concurrency gate, each route's rate limits, each
 * app, and Redis. Each is read from the gateway as it stands at a scrape (the current snapshot),
 * so a reload needs no re-registration. The upstream side's are {@link UpstreamMetrics}.
 */
final class GatewayMeters {
    private GatewayMeters() {
    }

    static void register(GatewayMetrics metrics, Gateway gateway) {
        metrics.gauge("sluice.requests.active", "Requests in flight", gateway::activeExchanges);
        metrics.gauge("sluice.client.connections", "Open client connections", gateway::openClientConnections);
        metrics.gauge("sluice.websocket.tunnels", "WebSocket tunnels open (client connections switched to a backend's WebSocket)",
                gateway::openTunnels);
        metrics.perListener("sluice.listener.connections", "Client connections open on the listener",
                () -> ListenerLoad.byName(gateway.listenerLoads(), ListenerLoad::connections));
        metrics.perListener("sluice.listener.connections.max", "The listener's max_connections",
                () -> ListenerLoad.byName(gateway.listenerLoads(), ListenerLoad::maxConnections));
        metrics.perCluster("sluice.cluster.concurrency.limit", "The cluster's concurrency limit (0 when off)",
                () -> perCluster(gateway, c -> c.concurrency().limit()));
        metrics.perCluster("sluice.cluster.concurrency.in_flight", "Requests the cluster's concurrency gate admitted and not yet done",
                () -> perCluster(gateway, c -> c.concurrency().inFlight()));
        metrics.perCluster("sluice.cluster.concurrency.queued", "Requests waiting for a slot of the cluster's concurrency limit",
                () -> perCluster(gateway, c -> c.concurrency().queued()));
        metrics.perCluster("sluice.cluster.concurrency.shed", "Requests answered 503 overloaded so far: the queue was full or their wait ran out",
                () -> perCluster(gateway, c -> c.concurrency().shed()));
        metrics.perRouteRule("sluice.rate_limit.refusals", "Requests a route's rate limit answered 429 rate_limited",
                () -> rateLimitRules(gateway), RateLimiter::refused);
        metrics.perRouteRule("sluice.rate_limit.shadow_refusals",
                "Requests a shadow rate limit would have refused and let through", () -> rateLimitRules(gateway),
                RateLimiter::shadowRefused);
        // Per app (labelled by its cluster): ready or not, in a crash loop or not, starts, held requests.
        metrics.perCluster("sluice.app.ready", "1 while the cluster's app runs and passed its readiness check",
                () -> perApp(gateway, a -> a.state() == AppState.READY ? 1 : 0));
        metrics.perCluster("sluice.app.crash_loop", "1 while the cluster's app is in a crash loop (failed twice or more in a row)",
                () -> perApp(gateway, a -> a.state() == AppState.CRASH_LOOP ? 1 : 0));
        metrics.perCluster("sluice.app.starts", "Times Sluice started the cluster's app",
                () -> perApp(gateway, AppStatus::starts));
        metrics.perCluster("sluice.app.held", "Requests waiting for the cluster's app to become ready",
                () -> perApp(gateway, AppStatus::held));
    }

    /**
     * {@code sluice_redis_up} (1 while Redis decides the global rate limits, 0 while local buckets
     * do), {@code sluice_redis_replicas} and {@code sluice_redis_errors_total}: registered once,
     * from the first config with a {@code redis:}; NaN after a reload takes it away.
     */
    static void registerRedis(GatewayMetrics metrics, Gateway gateway) {
        metrics.gauge("sluice.redis.up", "1 while Redis decides the global rate limits, 0 while local buckets do",
                () -> gateway.redis().map(r -> (double) (r.shared() ? 1 : 0)).orElse(Double.NaN));
        metrics.gauge("sluice.redis.replicas", "Sluices sharing the global rate limits: a local bucket's share of the rate",
                () -> gateway.redis().map(r -> (double) r.replicas().count()).orElse(Double.NaN));
        metrics.counter("sluice.redis.errors", "Asks of global rate limits Redis failed or did not answer in time",
                gateway, g -> g.redis().map(r -> (double) r.health().errors()).orElse(0.0));
    }

    private static Map<String, Number> perCluster(Gateway gateway, Function<Cluster, Number> value) {
        Map<String, Number> values = new LinkedHashMap<>();
        gateway.snapshot().clusters().forEach((name, cluster) -> values.put(name, value.apply(cluster)));
        return values;
    }

    private static Map<String, Number> perApp(Gateway gateway, Function<AppStatus, Number> value) {
        Map<String, Number> values = new LinkedHashMap<>();
        gateway.apps().statuses().forEach(a -> values.put(a.name(), value.apply(a)));
        return values;
    }

    /** Each route's rate limit rules, by route, rule name, mode and scope. */
    private static Map<List<String>, RateLimiter> rateLimitRules(Gateway gateway) {
        Map<List<String>, RateLimiter> rules = new LinkedHashMap<>();
        gateway.snapshot().routes().routes().forEach(route -> route.rateLimits().rules()
                .forEach(rule -> rules.put(List.of(route.name(), rule.name(), lower(rule.config().mode()),
                        lower(rule.config().scope())), rule)));
        return rules;
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
