package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.admin.AdminServer;
import dev.sluice.admin.Status;
import dev.sluice.config.ConfigVersion;
import dev.sluice.config.HostPort;
import dev.sluice.server.TestGateway;
import dev.sluice.testing.Await;
import dev.sluice.testing.GrpcEcho;
import dev.sluice.testing.H2Backend;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestCertificates;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Active health checks of clusters that speak HTTP/2, on real sockets: gRPC's
 * {@code Health/Check} against grpc-java's own health service ({@link HealthStatusManager}) over
 * h2c, an endpoint going {@code NOT_SERVING} taken out (its calls go to the other, {@code /status}
 * says so) and brought back when {@code SERVING} again; a path checked over TLS with ALPN h2,
 * judged by status and identity as an HTTP/1.1 check is.
 */
class Http2HealthCheckTest {
    private static final Duration T = Duration.ofSeconds(20);
    // The checks' timeout is 5 s: a grpc-java server's first calls, on a loaded machine, take
    // over a second, and a check cut short leaves the server logging the stream it could not finish.
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * grpc-java's server logs a warning with a stack trace for each stream it could not finish:
     * a check in flight when the gateway closes, or cut by its timeout on a loaded machine. Held
     * here, since java.util.logging keeps its loggers only weakly.
     */
    private static final java.util.logging.Logger GRPC_SERVER_STREAMS =
            java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler");

    static {
        GRPC_SERVER_STREAMS.setLevel(java.util.logging.Level.OFF);
    }
    private static final MethodDescriptor<byte[], byte[]> NAME = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("test.Who/Name")
            .setRequestMarshaller(GrpcEcho.BYTES).setResponseMarshaller(GrpcEcho.BYTES).build();

    /** A gRPC server (grpc-java, h2c) whose {@code test.Who/Name} answers its name, with gRPC's standard health service. */
    private record NamedServer(String name, Server server, HealthStatusManager health) implements AutoCloseable {
        static NamedServer start(String name) throws Exception {
            HealthStatusManager health = new HealthStatusManager();
            health.setStatus("test.Who", ServingStatus.SERVING);
            ServerServiceDefinition who = ServerServiceDefinition.builder("test.Who")
                    .addMethod(NAME, ServerCalls.asyncUnaryCall((request, answer) -> {
                        answer.onNext(name.getBytes(StandardCharsets.UTF_8));
                        answer.onCompleted();
                    }))
                    .build();
            Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(who).addService(health.getHealthService()).build().start();
            return new NamedServer(name, server, health);
        }

        String authority() {
            return "127.0.0.1:" + server.getPort();
        }

        @Override
        public void close() throws InterruptedException {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static String whoAnswers(ManagedChannel channel) {
        return new String(ClientCalls.blockingUnaryCall(channel, NAME,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]), StandardCharsets.UTF_8);
    }

    /** The admin API on a free port, its {@code /status} the gateway's. */
    private static AdminServer admin(TestGateway gateway) throws InterruptedException {
        ConfigVersion version = new ConfigVersion(1, Instant.EPOCH, "test", "ab".repeat(32), ConfigVersion.Outcome.GOOD,
                Optional.empty(), 0, 0, "");
        AdminServer.Observed observed = new AdminServer.Observed() {
            @Override
            public Optional<String> notReady() {
                return Optional.empty();
            }

            @Override
            public Status status() {
                return new Status(gateway.gateway(), version, Optional.empty(), false, Optional.empty(), false,
                        Duration.ZERO, 0);
            }

            @Override
            public String metrics() {
                return "";
            }
        };
        return AdminServer.start(new HostPort("127.0.0.1", 0), observed, (method, path, query, body) -> Optional.empty());
    }

    /** {@code /status}'s word for the health of {@code cluster}'s endpoint at {@code address}, as an operator reads it. */
    private static String statusHealth(HttpClient http, AdminServer admin, String cluster, String address) {
        try {
            HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + admin.address().getPort() + "/status")).build(), HttpResponse.BodyHandlers.ofString());
            for (JsonNode c : JSON.readTree(answer.body()).path("clusters")) {
                if (c.path("name").asText().equals(cluster)) {
                    for (JsonNode endpoint : c.path("endpoints")) {
                        if (endpoint.path("address").asText().equals(address)) {
                            return endpoint.path("health").asText();
                        }
                    }
                }
            }
            return "absent";
        } catch (Exception e) {
            throw new AssertionError("GET /status failed", e);
        }
    }

    @Test
    void aGrpcEndpointNotServingIsTakenOutAndComesBackWhenServingAgain() throws Exception {
        try (NamedServer a = NamedServer.start("a");
             NamedServer b = NamedServer.start("b");
             H2Backend notGrpc = H2Backend.cleartext();
             TestGateway gateway = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                         http2: { h2c: true }
                     routes:
                       - match: { host: other.test, path_prefix: / }
                         cluster: other
                       - match: { path_prefix: / }
                         cluster: who
                     clusters:
                       - name: who
                         endpoints: [%1$s, %2$s]
                         protocol: h2c
                         health_check:
                           grpc: { service: test.Who }
                           interval: 100ms
                           timeout: 5s
                           healthy_threshold: 2
                           unhealthy_threshold: 2
                       - name: other
                         endpoints: [%1$s, %3$s]
                         protocol: h2c
                         health_check: { grpc: { service: test.Missing }, interval: 100ms, timeout: 5s }
                     """.formatted(a.authority(), b.authority(), notGrpc.authority()))) {
            AdminServer admin = admin(gateway);
            HttpClient http = HttpClient.newHttpClient();
            ManagedChannel channel = NettyChannelBuilder.forAddress(gateway.address()).usePlaintext().build();
            try {
                Await.until(T, () -> statusHealth(http, admin, "who", a.authority()).equals("healthy")
                        && statusHealth(http, admin, "who", b.authority()).equals("healthy"), "both SERVING, healthy");
                Set<String> answered = new HashSet<>();
                Await.until(T, () -> {
                    answered.add(whoAnswers(channel));
                    return answered.size() == 2;
                }, "calls reach both endpoints");

                a.health().setStatus("test.Who", ServingStatus.NOT_SERVING);
                Await.until(T, () -> statusHealth(http, admin, "who", a.authority()).equals("unhealthy"),
                        "a, NOT_SERVING, unhealthy in /status");
                for (int i = 0; i < 20; i++) {
                    assertThat(whoAnswers(channel)).as("call %d while a is out", i).isEqualTo("b");
                }

                a.health().setStatus("test.Who", ServingStatus.SERVING);
                Await.until(T, () -> statusHealth(http, admin, "who", a.authority()).equals("healthy"),
                        "a, SERVING again, healthy in /status");
                Await.until(T, () -> whoAnswers(channel).equals("a"), "calls reach a again");

                // A server that does not know the service is another service at that address; an
                // HTTP/2 server that is not gRPC fails its checks.
                Await.until(T, () -> statusHealth(http, admin, "other", a.authority()).equals("wrong_identity"),
                        "a server that does not know test.Missing, wrong_identity");
                Await.until(T, () -> statusHealth(http, admin, "other", notGrpc.authority()).equals("unhealthy"),
                        "an h2c server that is not gRPC, unhealthy");
                assertThat(notGrpc.seen()).isNotEmpty().allSatisfy(seen -> {
                    assertThat(seen.method()).isEqualTo("POST");
                    assertThat(seen.path()).isEqualTo("/grpc.health.v1.Health/Check");
                    assertThat(seen.fields()).containsEntry("content-type", "application/grpc")
                            .containsEntry("te", "trailers").containsEntry("user-agent", "sluice-health-check");
                    assertThat(seen.body()).containsExactly(0, 0, 0, 0, 14, 0x0A, 12,
                            't', 'e', 's', 't', '.', 'M', 'i', 's', 's', 'i', 'n', 'g');
                });
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                admin.close();
            }
        }
    }

    @Test
    void aPathIsCheckedOverTlsWithAlpnH2AndJudgedByStatusAndIdentity(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.authority();
        Path caFile = ca.writeCa(dir.resolve("ca.pem"));
        try (H2Backend backend = H2Backend.tls(ca.issue("api.internal"))) {
            TestGateway gateway = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                     routes:
                       - match: { host: impostor.test, path_prefix: / }
                         cluster: impostor
                       - match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [%1$s]
                         protocol: h2
                         tls: { ca: %2$s, sni: api.internal }
                         health_check:
                           path: /healthz
                           host: api.internal
                           interval: 100ms
                           expect: { status: 200, headers: { x-seen-scheme: https, x-seen-authority: api.internal } }
                       - name: impostor
                         endpoints: [%1$s]
                         protocol: h2
                         tls: { ca: %2$s, sni: api.internal }
                         health_check:
                           path: /healthz
                           interval: 100ms
                           expect: { headers: { x-seen-authority: shop.internal } }
                     """.formatted(backend.authority(), caFile));
            try {
                checkedOverTls(gateway, backend);
            } finally {
                gateway.close();
            }
            // The checks ended with the gateway, their connections too: each one's end reaches the backend.
            Await.until(T, () -> backend.openConnections() == 0, () -> backend.openConnections()
                    + " health-check connections still open after the gateway closed");
        }
    }

    /** Both clusters check the one backend over TLS: one finds it healthy, the other another service. */
    private static void checkedOverTls(TestGateway gateway, H2Backend backend) {
        Endpoint app = gateway.gateway().snapshot().clusters().get("app").endpoints().getFirst();
        Endpoint impostor = gateway.gateway().snapshot().clusters().get("impostor").endpoints().getFirst();
        Await.until(T, () -> app.health() == Endpoint.Health.HEALTHY, "app proven healthy over h2");
        Await.until(T, () -> impostor.health() == Endpoint.Health.WRONG_IDENTITY,
                "the same endpoint, expected to answer as shop.internal, answering as another service");

        assertThat(backend.seen()).filteredOn(seen -> seen.authority().equals("api.internal")).first()
                .satisfies(seen -> {
                    assertThat(seen.method()).isEqualTo("GET");
                    assertThat(seen.path()).isEqualTo("/healthz");
                    assertThat(seen.fields()).containsEntry(":scheme", "https")
                            .containsEntry("user-agent", "sluice-health-check").doesNotContainKey("connection");
                    assertThat(seen.body()).isEmpty();
                });
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            RawResponse served = client.send("GET /orders HTTP/1.1\r\nHost: shop.example\r\n\r\n").readResponse(T);
            assertThat(served.status()).isEqualTo(200);
            assertThat(served.header("x-seen-path")).isEqualTo("/orders");
        }
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            RawResponse refused = client.send("GET /orders HTTP/1.1\r\nHost: impostor.test\r\n\r\n").readResponse(T);
            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.header("x-sluice-error")).isEqualTo("no_healthy_endpoint");
        }
    }
}
