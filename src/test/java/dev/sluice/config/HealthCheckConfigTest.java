package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.failure;
import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@code clusters[].health_check}: an HTTP check of a path over the cluster's protocol, or gRPC's
 * {@code Health/Check}, which only an HTTP/2 cluster can have; mistakes reported where they are.
 */
class HealthCheckConfigTest {

    private static String cluster(String extra) {
        return """
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: / }
                    cluster: grpc
                clusters:
                  - name: grpc
                    endpoints: [127.0.0.1:9001]
                """ + extra;
    }

    private static HealthCheckConfig bind(String extra) throws ConfigException {
        return ConfigLoader.parse(cluster(extra), "x.yaml").clusters().get(0).healthCheck().orElseThrow();
    }

    @Test
    void anHttpCheckTakesItsDefaultsOnEveryProtocol() throws ConfigException {
        HealthCheckConfig plain = bind("    health_check: { path: /healthz }\n");
        assertThat(plain).isEqualTo(HealthCheckConfig.of("/healthz"));
        assertThat(plain.grpc()).isFalse();
        assertThat(bind("    protocol: h2c\n    health_check: { path: /healthz }\n")).isEqualTo(plain);
        assertThat(bind("    protocol: h2\n    tls: { verify: false }\n    health_check: { path: /healthz }\n"))
                .isEqualTo(plain);
    }

    @Test
    void aGrpcCheckAsksAboutTheWholeServerUnlessAServiceIsNamed() throws ConfigException {
        HealthCheckConfig server = bind("    protocol: h2c\n    health_check: { grpc: {} }\n");
        assertThat(server.grpc()).isTrue();
        assertThat(server.grpcService()).contains("");
        assertThat(server.path()).isEqualTo("/grpc.health.v1.Health/Check");
        assertThat(server.interval()).isEqualTo(HealthCheckConfig.DEFAULT_INTERVAL);

        HealthCheckConfig named = bind("""
                    protocol: h2
                    tls: { verify: false }
                    health_check:
                      grpc: { service: shop.v1.Orders }
                      host: orders.internal
                      interval: 500ms
                      unhealthy_threshold: 2
                      expect: { headers: { x-service: orders } }
                """);
        assertThat(named).isEqualTo(new HealthCheckConfig("/grpc.health.v1.Health/Check", Optional.of("orders.internal"),
                Duration.ofMillis(500), HealthCheckConfig.DEFAULT_TIMEOUT, HealthCheckConfig.DEFAULT_HEALTHY_THRESHOLD, 2,
                200, 399, Map.of("x-service", "orders"), Optional.empty(), Optional.of("shop.v1.Orders")));
    }

    @Test
    void aGrpcCheckOnAnHttp11ClusterIsRefusedWhereItIsWritten() {
        ConfigException refused = failure(cluster("    health_check: { grpc: { service: shop.v1.Orders } }\n"));
        assertThat(refused.getMessage()).isEqualTo("test.yaml:9:27: clusters[0].health_check.grpc: gRPC is HTTP/2, and "
                + "this cluster's protocol is http1.1; set 'protocol: h2c' (or 'h2' with 'tls'), or check a 'path' "
                + "over HTTP/1.1");
        assertThat(problems(cluster("    protocol: http1.1\n    health_check:\n      grpc: {}\n"))).containsExactly(
                "11:13: clusters[0].health_check.grpc: gRPC is HTTP/2, and this cluster's protocol is http1.1; set "
                        + "'protocol: h2c' (or 'h2' with 'tls'), or check a 'path' over HTTP/1.1");
    }

    @Test
    void aProtocolAlreadyRefusedDoesNotAlsoRefuseTheGrpcCheck() {
        assertThat(problems(cluster("    protocol: h2\n    health_check: { grpc: {} }\n"))).containsExactly(
                "9:15: clusters[0].protocol: h2 is HTTP/2 over TLS and needs the cluster's 'tls'; use h2c for "
                        + "HTTP/2 in cleartext");
    }

    @Test
    void aGrpcCheckHasNoPathNoExpectedStatusOrBodyAndNamesOnlyItsService() {
        assertThat(problems(cluster("""
                    protocol: h2c
                    health_check:
                      grpc: { service: shop, method: Check }
                      path: /healthz
                      expect: { status: 200, body: SERVING }
                """))).containsExactly(
                "11:30: unknown key 'method' in clusters[0].health_check.grpc (allowed: service)",
                "12:13: clusters[0].health_check.path: a gRPC check calls /grpc.health.v1.Health/Check; remove "
                        + "'path', or 'grpc' for an HTTP check",
                "13:25: clusters[0].health_check.expect.status: a gRPC check is judged by the serving status it "
                        + "answers, not by its HTTP status; only 'expect.headers' applies",
                "13:36: clusters[0].health_check.expect.body: a gRPC check is judged by the serving status it "
                        + "answers, not by its HTTP body; only 'expect.headers' applies");
    }

    @Test
    void aCheckWithNeitherPathNorGrpcSaysWhichToWrite() {
        assertThat(problems(cluster("    protocol: h2c\n    health_check: { interval: 1s }\n"))).containsExactly(
                "10:19: missing required key 'path' in clusters[0].health_check (or 'grpc: {}' for gRPC's health "
                        + "checking protocol)");
    }
}
