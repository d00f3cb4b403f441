package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.config.ConfigVersion;
import dev.sluice.config.HostPort;
import dev.sluice.server.TestGateway;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * What an operator reads of a full listener: its connections, its limit, how many it refused and
 * how many waiting connections it closed to make room, its idle timeout now.
 */
class ListenerStatusTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ConfigVersion VERSION = new ConfigVersion(1, Instant.parse("2026-01-02T03:04:05Z"),
            "file sluice.yaml", "ab".repeat(32), ConfigVersion.Outcome.GOOD, Optional.empty(), 0, 0, "");
    private static final Duration T = Duration.ofSeconds(10);

    private static final String GET = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void statusAndMetricsShowAFullListenerItsRefusalsItsEvictionsAndItsShrunkIdleTimeout() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.neverRespond());
             TestGateway gw = TestGateway.fromYaml("""
                     listeners:
                       - name: edge
                         address: 127.0.0.1:0
                         max_connections: 3
                         idle_timeout: 10m
                         idle_timeout_under_pressure: 7s
                       - name: internal
                         address: 127.0.0.1:0
                     routes:
                       - match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [%s]
                     """.formatted(backend.authority()));
             RawHttpClient first = RawHttpClient.connect(gw.address()).send(GET);
             RawHttpClient second = RawHttpClient.connect(gw.address()).send(GET);
             RawHttpClient waiting = RawHttpClient.connect(gw.address())) {
            Await.until(T, () -> gw.gateway().activeExchanges() == 2, "two requests in flight");
            // The fourth takes the place of the third, connected and silent: evicted.
            try (RawHttpClient fourth = RawHttpClient.connect(gw.address())) {
                assertThat(waiting.readRaw(T)).isEmpty();
                assertThat(waiting.closeKind()).isNotNull();
                fourth.send(GET);
                Await.until(T, () -> gw.gateway().activeExchanges() == 3, "three requests in flight");
                // Every connection has a request in flight: the fifth is closed as it is accepted.
                try (RawHttpClient refused = RawHttpClient.connect(gw.address())) {
                    assertThat(refused.readRaw(T)).isEmpty();
                    assertThat(refused.closeKind()).isNotNull();
                }
                AdminServer.Observed observed = new AdminServer.Observed() {
                    @Override
                    public Optional<String> notReady() {
                        return Optional.empty();
                    }

                    @Override
                    public Status status() {
                        return new Status(gw.gateway(), VERSION, Optional.empty(), false, Optional.empty(), false,
                                Duration.ofSeconds(1), 0);
                    }

                    @Override
                    public String metrics() {
                        return gw.gateway().metrics().scrape();
                    }
                };
                try (AdminServer admin = AdminServer.start(new HostPort("127.0.0.1", 0), observed,
                        (method, path, query, body) -> Optional.empty())) {
                    JsonNode listeners = JSON.readTree(get(admin, "/status")).path("listeners");
                    JsonNode edge = listeners.get(0);
                    assertThat(edge.path("name").asText()).isEqualTo("edge");
                    assertThat(edge.path("connections").asInt()).isEqualTo(3);
                    assertThat(edge.path("max_connections").asInt()).isEqualTo(3);
                    assertThat(edge.path("max_connections_auto").asBoolean()).isFalse();
                    assertThat(edge.path("connections_refused").asLong()).isEqualTo(1);
                    assertThat(edge.path("connections_evicted").asLong()).isEqualTo(1);
                    assertThat(edge.path("idle_timeout_ms").asLong()).as("full: the idle timeout under pressure")
                            .isEqualTo(7_000);
                    JsonNode internal = listeners.get(1);
                    assertThat(internal.path("connections").asInt()).isZero();
                    assertThat(internal.path("max_connections_auto").asBoolean()).isTrue();
                    assertThat(internal.path("max_connections").asInt()).isPositive();
                    assertThat(internal.path("connections_refused").asLong()).isZero();
                    assertThat(internal.path("connections_evicted").asLong()).isZero();
                    assertThat(internal.path("idle_timeout_ms").asLong()).isEqualTo(620_000);

                    assertThat(get(admin, "/metrics")).contains(
                            "sluice_listener_connections_refused_total{listener=\"edge\"} 1.0",
                            "sluice_listener_connections_refused_total{listener=\"internal\"} 0.0",
                            "sluice_listener_connections_evicted_total{listener=\"edge\"} 1.0",
                            "sluice_listener_connections{listener=\"edge\"} 3.0",
                            "sluice_listener_connections_max{listener=\"edge\"} 3.0");
                }
            }
        }
    }

    private String get(AdminServer admin, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.address().getPort() + path))
                .GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
