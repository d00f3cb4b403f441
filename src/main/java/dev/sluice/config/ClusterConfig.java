package dev.sluice.config;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A cluster of interchangeable endpoints ({@code clusters[]}).
 *
 * @param idleTimeout how long a pooled upstream connection may stay idle before Sluice closes it
 * @param learnIdleTimeout true for {@code idle_timeout: auto}: shorten {@code idleTimeout} to the
 *     backend's advertised {@code Keep-Alive: timeout=N} minus a margin
 * @param maxIdlePerEndpoint idle connections kept per endpoint per event loop
 * @param slowStart how long a new or recovered endpoint takes to reach its full share of traffic;
 *     zero means at once
 * @param healthCheck active health checking; empty means only passive (outlier) detection
 * @param select labels an endpoint of the top-level {@code endpoints:} inventory must all carry
 *     to belong to this cluster; empty when the cluster only lists its endpoints
 *     ({@code endpoints} holds the listed and the selected endpoints together)
 * @param shared true when this cluster may share selected endpoints with another cluster that is
 *     also {@code shared}; otherwise an endpoint selected by two clusters is an error
 * @param concurrency how many requests may be in flight to this cluster and wait for a slot
 * @param sticky session affinity: by a cookie Sluice sets, or by a hash of the client or a header;
 *     empty for none (every request balanced on its own)
 * @param dnsRefresh how often the names of hostname endpoints are asked again, at most; a shorter
 *     DNS TTL asks sooner
 * @param app the application Sluice supervises behind this cluster; for one Sluice runs itself,
 *     {@code endpoints} is its one loopback address once the app's port is known (see {@code apps.Apps})
 * @param kubernetes the Kubernetes Service whose EndpointSlices are this cluster's endpoints; for
 *     one, {@code endpoints} is empty and the endpoints are the watch's (see {@code kubernetes.KubernetesDiscovery})
 * @param tls TLS to the endpoints; empty for cleartext
 * @param protocol what Sluice speaks to the endpoints: HTTP/1.1 (the default), or HTTP/2 over TLS
 *     ({@code h2}, chosen by ALPN) or in cleartext ({@code h2c}, by prior knowledge)
 * @param http2 the keepalive PINGs of the HTTP/2 connections ({@code h2}, {@code h2c}); unused over HTTP/1.1
 */
public record ClusterConfig(
        String name,
        List<EndpointConfig> endpoints,
        Duration connectTimeout,
        Duration idleTimeout,
        boolean learnIdleTimeout,
        int maxIdlePerEndpoint,
        LoadBalancerKind loadBalancer,
        Duration slowStart,
        Optional<HealthCheckConfig> healthCheck,
        Map<String, String> select,
        boolean shared,
        ConcurrencyConfig concurrency,
        Optional<StickyConfig> sticky,
        Duration dnsRefresh,
        Optional<AppConfig> app,
        Optional<KubernetesConfig> kubernetes,
        Optional<UpstreamTlsConfig> tls,
        Protocol protocol,
        UpstreamHttp2Config http2) {

    /** 2 s: a healthy endpoint on the same network connects in milliseconds; waiting longer only
     * delays the failover to the next endpoint. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /** 4 s: below Node.js's 5 s keep-alive, the most common backend default, so Sluice closes an
     * idle connection before the backend does. Used while {@code auto} has learned nothing. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(4);
    /** 60 s: the most {@code auto} trusts a backend's advertised timeout. Longer-idle connections
     * are cheap to reopen, and NAT and conntrack tables silently drop flows idle for minutes. */
    public static final Duration AUTO_IDLE_CAP = Duration.ofSeconds(60);
    /** 128: above the concurrency one event loop usually carries to one endpoint. A pool smaller than
     * the load closes connections that are needed again a moment later: at 50 client connections
     * a limit of 32 made Sluice open ~900 backend connections a second and halved its throughput
     * (bench/run). Idle connections cost the backend a file descriptor each, nothing more. */
    public static final int DEFAULT_MAX_IDLE_PER_ENDPOINT = 128;
    /** 30 s: a moved service is followed within half a minute (as long as the JDK's own cache
     * keeps a name), at one query per name every 30 s; a name whose TTL is shorter is asked when
     * its TTL runs out. Envoy's 5 s costs the DNS servers six times as much for names that rarely move. */
    public static final Duration DEFAULT_DNS_REFRESH = Duration.ofSeconds(30);

    public ClusterConfig {
        endpoints = List.copyOf(endpoints);
        select = Collections.unmodifiableMap(new LinkedHashMap<>(select));
    }

    /** A cluster spoken to over HTTP/1.1, {@link Protocol#DEFAULT}. */
    public ClusterConfig(String name, List<EndpointConfig> endpoints, Duration connectTimeout, Duration idleTimeout,
                         boolean learnIdleTimeout, int maxIdlePerEndpoint, LoadBalancerKind loadBalancer,
                         Duration slowStart, Optional<HealthCheckConfig> healthCheck, Map<String, String> select,
                         boolean shared, ConcurrencyConfig concurrency, Optional<StickyConfig> sticky,
                         Duration dnsRefresh, Optional<AppConfig> app, Optional<KubernetesConfig> kubernetes,
                         Optional<UpstreamTlsConfig> tls) {
        this(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint, loadBalancer,
                slowStart, healthCheck, select, shared, concurrency, sticky, dnsRefresh, app, kubernetes, tls,
                Protocol.DEFAULT, UpstreamHttp2Config.DEFAULT);
    }

    /** A cluster that takes its endpoints from the config (or an app), not from Kubernetes. */
    public ClusterConfig(String name, List<EndpointConfig> endpoints, Duration connectTimeout, Duration idleTimeout,
                         boolean learnIdleTimeout, int maxIdlePerEndpoint, LoadBalancerKind loadBalancer,
                         Duration slowStart, Optional<HealthCheckConfig> healthCheck, Map<String, String> select,
                         boolean shared, ConcurrencyConfig concurrency, Optional<StickyConfig> sticky,
                         Duration dnsRefresh, Optional<AppConfig> app) {
        this(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint, loadBalancer,
                slowStart, healthCheck, select, shared, concurrency, sticky, dnsRefresh, app, Optional.empty(),
                Optional.empty());
    }

    /** A cluster of endpoints, without an app behind it. */
    public ClusterConfig(String name, List<EndpointConfig> endpoints, Duration connectTimeout, Duration idleTimeout,
                         boolean learnIdleTimeout, int maxIdlePerEndpoint, LoadBalancerKind loadBalancer,
                         Duration slowStart, Optional<HealthCheckConfig> healthCheck, Map<String, String> select,
                         boolean shared, ConcurrencyConfig concurrency, Optional<StickyConfig> sticky,
                         Duration dnsRefresh) {
        this(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint, loadBalancer,
                slowStart, healthCheck, select, shared, concurrency, sticky, dnsRefresh, Optional.empty());
    }

    /** A cluster without stickiness, its names asked again every {@link #DEFAULT_DNS_REFRESH}. */
    public ClusterConfig(String name, List<EndpointConfig> endpoints, Duration connectTimeout, Duration idleTimeout,
                         boolean learnIdleTimeout, int maxIdlePerEndpoint, LoadBalancerKind loadBalancer,
                         Duration slowStart, Optional<HealthCheckConfig> healthCheck, Map<String, String> select,
                         boolean shared, ConcurrencyConfig concurrency) {
        this(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint, loadBalancer,
                slowStart, healthCheck, select, shared, concurrency, Optional.empty(), DEFAULT_DNS_REFRESH);
    }

    /** This cluster with {@code sticky} session affinity. */
    public ClusterConfig withSticky(StickyConfig sticky) {
        return new ClusterConfig(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint,
                loadBalancer, slowStart, healthCheck, select, shared, concurrency, Optional.of(sticky), dnsRefresh, app, kubernetes,
                tls, protocol, http2);
    }

    /** This cluster with its names asked again every {@code dnsRefresh} at most. */
    public ClusterConfig withDnsRefresh(Duration dnsRefresh) {
        return new ClusterConfig(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint,
                loadBalancer, slowStart, healthCheck, select, shared, concurrency, sticky, dnsRefresh, app, kubernetes,
                tls, protocol, http2);
    }

    /** The same cluster with {@code endpoints} (an app's address, once its port is chosen). */
    public ClusterConfig withEndpoints(List<EndpointConfig> endpoints) {
        return new ClusterConfig(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint,
                loadBalancer, slowStart, healthCheck, select, shared, concurrency, sticky, dnsRefresh, app, kubernetes,
                tls, protocol, http2);
    }

    /** A cluster with the default concurrency limit. */
    public ClusterConfig(String name, List<EndpointConfig> endpoints, Duration connectTimeout, Duration idleTimeout,
                         boolean learnIdleTimeout, int maxIdlePerEndpoint, LoadBalancerKind loadBalancer,
                         Duration slowStart, Optional<HealthCheckConfig> healthCheck, Map<String, String> select,
                         boolean shared) {
        this(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint, loadBalancer,
                slowStart, healthCheck, select, shared, ConcurrencyConfig.DEFAULT, Optional.empty(), DEFAULT_DNS_REFRESH);
    }

    /** A cluster that lists its endpoints, selects none, and has the default concurrency limit. */
    public ClusterConfig(String name, List<EndpointConfig> endpoints, Duration connectTimeout, Duration idleTimeout,
                         boolean learnIdleTimeout, int maxIdlePerEndpoint, LoadBalancerKind loadBalancer,
                         Duration slowStart, Optional<HealthCheckConfig> healthCheck) {
        this(name, endpoints, connectTimeout, idleTimeout, learnIdleTimeout, maxIdlePerEndpoint, loadBalancer,
                slowStart, healthCheck, Map.of(), false, ConcurrencyConfig.DEFAULT, Optional.empty(), DEFAULT_DNS_REFRESH);
    }

    public static ClusterConfig of(String name, List<EndpointConfig> endpoints) {
        return new ClusterConfig(name, endpoints, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, true,
                DEFAULT_MAX_IDLE_PER_ENDPOINT, LoadBalancerKind.LEAST_REQUEST, Duration.ZERO, Optional.empty());
    }

    /**
     * {@code least_request} (default): of two endpoints picked at random, the one with fewer
     * requests in flight (power of two choices): near-optimal spread without global state, and
     * it steers around a slow endpoint. {@code round_robin}: strict rotation. {@code weighted}:
     * random in proportion to endpoint weights. Weights and slow start apply to least_request and
     * weighted; round_robin ignores them.
     */
    public enum LoadBalancerKind { LEAST_REQUEST, ROUND_ROBIN, WEIGHTED }

    /**
     * {@code clusters[].protocol}. {@code http1.1} (default): every backend speaks it, and a pooled
     * connection per request in flight costs a backend nothing it is not built for. {@code h2}:
     * HTTP/2 over the cluster's {@code tls}, offered by ALPN; {@code h2c}: HTTP/2 in cleartext by
     * prior knowledge (RFC 9113 §3.3). Both multiplex requests on one connection per endpoint per
     * event loop, and are what gRPC backends need (trailers, streams).
     */
    public enum Protocol {
        HTTP1_1("http1.1"), H2("h2"), H2C("h2c");

        /** HTTP/1.1: what every backend speaks; HTTP/2 is asked for, never guessed. */
        public static final Protocol DEFAULT = HTTP1_1;

        private final String text;

        Protocol(String text) {
            this.text = text;
        }

        /** As written in the config. */
        public String text() {
            return text;
        }

        /** HTTP/2: streams multiplexed on a shared connection, not a connection per request. */
        public boolean multiplexed() {
            return this != HTTP1_1;
        }
    }
}
