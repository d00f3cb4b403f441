package dev.sluice.config;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Active health checking of a cluster's endpoints ({@code clusters[].health_check}). An endpoint
 * is healthy only while it answers {@code path} as this service: with an expected status, and,
 * when given, an expected header value and a body substring. That identity check is what keeps
 * traffic off an address that now belongs to a different service (a reused pod IP, an overlapping
 * selector).
 *
 * <p>With {@code grpc}, the check is the gRPC health checking protocol's call
 * ({@code grpc.health.v1.Health/Check}, {@link #GRPC_PATH}) instead of a GET: healthy while the
 * server says the service is {@code SERVING}. Only a cluster that speaks HTTP/2 ({@code protocol:
 * h2c} or {@code h2}) has it.
 *
 * @param path the path asked for; {@link #GRPC_PATH} for a gRPC check
 * @param host the Host header ({@code :authority} over HTTP/2) of the check; empty means the endpoint's address
 * @param expectedStatusMin lowest status that counts as healthy
 * @param expectedStatusMax highest status that counts as healthy
 * @param expectedHeaders response headers (lower-case name) that must have exactly these values
 * @param expectedBody a substring the first 64 KiB of the body must contain
 * @param grpcService for a gRPC check, the service asked about ({@code ""}: the server as a
 *                    whole); empty for an HTTP check
 */
public record HealthCheckConfig(
        String path,
        Optional<String> host,
        Duration interval,
        Duration timeout,
        int healthyThreshold,
        int unhealthyThreshold,
        int expectedStatusMin,
        int expectedStatusMax,
        Map<String, String> expectedHeaders,
        Optional<String> expectedBody,
        Optional<String> grpcService) {

    /** The gRPC health checking protocol's unary method (grpc/grpc doc/health-checking.md). */
    public static final String GRPC_PATH = "/grpc.health.v1.Health/Check";

    /** 2 s: notices a dead endpoint within a few seconds at negligible load (HAProxy's default inter). */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(2);
    /** 1 s: a health endpoint that cannot answer in a second is not healthy. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
    /** 2 passes: one lucky answer does not bring a flapping endpoint back (HAProxy's rise). */
    public static final int DEFAULT_HEALTHY_THRESHOLD = 2;
    /** 3 failures: one lost packet does not take an endpoint out (HAProxy's fall). */
    public static final int DEFAULT_UNHEALTHY_THRESHOLD = 3;

    public HealthCheckConfig {
        expectedHeaders = Map.copyOf(expectedHeaders);
    }

    /** An HTTP check: a GET of {@code path}. */
    public HealthCheckConfig(String path, Optional<String> host, Duration interval, Duration timeout,
                             int healthyThreshold, int unhealthyThreshold, int expectedStatusMin,
                             int expectedStatusMax, Map<String, String> expectedHeaders, Optional<String> expectedBody) {
        this(path, host, interval, timeout, healthyThreshold, unhealthyThreshold, expectedStatusMin, expectedStatusMax,
                expectedHeaders, expectedBody, Optional.empty());
    }

    public static HealthCheckConfig of(String path) {
        return new HealthCheckConfig(path, Optional.empty(), DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_HEALTHY_THRESHOLD,
                DEFAULT_UNHEALTHY_THRESHOLD, 200, 399, Map.of(), Optional.empty());
    }

    /** Whether the check is gRPC's {@code Health/Check} rather than a GET. */
    public boolean grpc() {
        return grpcService.isPresent();
    }
}
