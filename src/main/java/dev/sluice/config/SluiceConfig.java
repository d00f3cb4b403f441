package dev.sluice.config;

import java.util.List;
import java.util.Optional;

/**
 * One whole, validated configuration. Built only by {@link ConfigLoader}; the data plane reads
 * it as an immutable snapshot and never parses anything itself.
 *
 * @param source where it came from (a file path, or {@code <demo>}), for messages
 * @param admin empty when no admin listener is configured
 * @param drain how a graceful shutdown is paced
 * @param redis where {@code scope: global} rate limits keep their buckets; empty without such limits
 * @param versions what happens to a version judged bad
 * @param incidents when an incident opens and closes on a cluster
 * @param alerts where incidents are announced; empty without {@code alerts:}
 * @param metrics what {@code GET /metrics} exports
 */
public record SluiceConfig(
        String source,
        ServerConfig server,
        List<ListenerConfig> listeners,
        List<RouteConfig> routes,
        List<ClusterConfig> clusters,
        Optional<AdminConfig> admin,
        AccessLogConfig accessLog,
        DrainConfig drain,
        Optional<RedisConfig> redis,
        VersionsConfig versions,
        IncidentsConfig incidents,
        Optional<AlertsConfig> alerts,
        MetricsConfig metrics) {

    public SluiceConfig {
        listeners = List.copyOf(listeners);
        routes = List.copyOf(routes);
        clusters = List.copyOf(clusters);
    }

    /** With the default metrics (endpoint labels on). */
    public SluiceConfig(String source, ServerConfig server, List<ListenerConfig> listeners, List<RouteConfig> routes,
                        List<ClusterConfig> clusters, Optional<AdminConfig> admin, AccessLogConfig accessLog,
                        DrainConfig drain, Optional<RedisConfig> redis, VersionsConfig versions,
                        IncidentsConfig incidents, Optional<AlertsConfig> alerts) {
        this(source, server, listeners, routes, clusters, admin, accessLog, drain, redis, versions, incidents, alerts,
                MetricsConfig.DEFAULT);
    }

    /** With the default incident thresholds and no alerts. */
    public SluiceConfig(String source, ServerConfig server, List<ListenerConfig> listeners, List<RouteConfig> routes,
                        List<ClusterConfig> clusters, Optional<AdminConfig> admin, AccessLogConfig accessLog,
                        DrainConfig drain, Optional<RedisConfig> redis, VersionsConfig versions) {
        this(source, server, listeners, routes, clusters, admin, accessLog, drain, redis, versions,
                IncidentsConfig.DEFAULT, Optional.empty());
    }

    /** With the default handling of versions (no automatic rollback). */
    public SluiceConfig(String source, ServerConfig server, List<ListenerConfig> listeners, List<RouteConfig> routes,
                        List<ClusterConfig> clusters, Optional<AdminConfig> admin, AccessLogConfig accessLog,
                        DrainConfig drain, Optional<RedisConfig> redis) {
        this(source, server, listeners, routes, clusters, admin, accessLog, drain, redis, VersionsConfig.DEFAULT);
    }

    /** With the default drain pacing. */
    public SluiceConfig(String source, ServerConfig server, List<ListenerConfig> listeners, List<RouteConfig> routes,
                        List<ClusterConfig> clusters, Optional<AdminConfig> admin, AccessLogConfig accessLog) {
        this(source, server, listeners, routes, clusters, admin, accessLog, DrainConfig.DEFAULT);
    }

    /** Without Redis: every rate limit is local. */
    public SluiceConfig(String source, ServerConfig server, List<ListenerConfig> listeners, List<RouteConfig> routes,
                        List<ClusterConfig> clusters, Optional<AdminConfig> admin, AccessLogConfig accessLog,
                        DrainConfig drain) {
        this(source, server, listeners, routes, clusters, admin, accessLog, drain, Optional.empty());
    }

    /** The same config with {@code clusters} in place of its own (apps' endpoints filled in). */
    public SluiceConfig withClusters(List<ClusterConfig> clusters) {
        return new SluiceConfig(source, server, listeners, routes, clusters, admin, accessLog, drain, redis, versions,
                incidents, alerts, metrics);
    }

    public Optional<ClusterConfig> cluster(String name) {
        return clusters.stream().filter(c -> c.name().equals(name)).findFirst();
    }
}
