package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.config.ConfigVersion;
import dev.sluice.config.HostPort;
import dev.sluice.server.TestGateway;
import dev.sluice.testing.RawHttpClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What an operator reads of a full listener: its connections, its limit, how many it refused, its idle timeout now. */
class ListenerStatusTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ConfigVersion VERSION = new ConfigVersion(1, Instant.parse("2026-01-02T03:04:05Z"),
            "file sluice.yaml", "ab".repeat(32), ConfigVersion.Outcome.GOOD, Optional.empty(), 0, 0, "");
    private static final Duration T = Duration.ofSeconds(10);

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void statusAndMetricsShowAFullListenerItsRefusalsAndItsShrunkIdleTimeout() throws Exception {
        try (TestGateway gw = TestGateway.fromYaml("""
                     listeners:
                       - name: edge
                         address: 127.0.0.1:0
                         max_connections: 2
                         idle_timeout: 10m
                         idle_timeout_under_pressure: 7s
                       - name: internal
                         address: 127.0.0.1:0
                     routes:
                       - match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [127.0.0.1:9]
                     """);
             RawHttpClient first = RawHttpClient.connect(gw.address());
             RawHttpClient second = RawHttpClient.connect(gw.address());
             RawHttpClient refused = RawHttpClient.connect(gw.address())) {
            // The third is closed as it is accepted, which also shows the two before it were counted.
            assertThat(refused.readRaw(T)).isEmpty();
            assertThat(refused.closeKind()).isNotNull();
            AdminServer.Observed observed = new AdminServer.Observed() {
                @Override
                public boolean ready() {
                    return true;
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
                assertThat(edge.path("connections").asInt()).isEqualTo(2);
                assertThat(edge.path("max_connections").asInt()).isEqualTo(2);
                assertThat(edge.path("max_connections_auto").asBoolean()).isFalse();
                assertThat(edge.path("connections_refused").asLong()).isEqualTo(1);
                assertThat(edge.path("idle_timeout_ms").asLong()).as("full: the idle timeout under pressure")
                        .isEqualTo(7_000);
                JsonNode internal = listeners.get(1);
                assertThat(internal.path("connections").asInt()).isZero();
                assertThat(internal.path("max_connections_auto").asBoolean()).isTrue();
                assertThat(internal.path("max_connections").asInt()).isPositive();
                assertThat(internal.path("connections_refused").asLong()).isZero();
                assertThat(internal.path("idle_timeout_ms").asLong()).isEqualTo(620_000);

                assertThat(get(admin, "/metrics")).contains(
                        "sluice_listener_connections_refused_total{listener=\"edge\"} 1.0",
                        "sluice_listener_connections_refused_total{listener=\"internal\"} 0.0",
                        "sluice_listener_connections{listener=\"edge\"} 2.0",
                        "sluice_listener_connections_max{listener=\"edge\"} 2.0");
            }
        }
    }

    private String get(AdminServer admin, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.address().getPort() + path))
                .GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
