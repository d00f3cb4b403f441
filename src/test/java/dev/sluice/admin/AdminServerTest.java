package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.admin.AdminServer.AdminResponse;
import dev.sluice.config.ConfigVersion;
import dev.sluice.config.HostPort;
import dev.sluice.server.TestGateway;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin API as an operator reads it: health, {@code /status}, {@code /metrics}, and the control endpoints passed on. */
class AdminServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ConfigVersion VERSION = new ConfigVersion(7, Instant.parse("2026-01-02T03:04:05Z"),
            "file sluice.yaml (SIGHUP)", "ab".repeat(32), ConfigVersion.Outcome.GOOD, Optional.empty(), 0, 0, "");

    private final HttpClient http = HttpClient.newHttpClient();
    private final AtomicBoolean draining = new AtomicBoolean();
    private TestGateway gateway;
    private AdminServer admin;

    @BeforeEach
    void start() throws Exception {
        gateway = TestGateway.proxyTo(new InetSocketAddress("127.0.0.1", 9));
        AdminServer.Observed observed = new AdminServer.Observed() {
            @Override
            public Optional<String> notReady() {
                return draining.get() ? Optional.of("draining") : Optional.empty();
            }

            @Override
            public Status status() {
                return new Status(gateway.gateway(), VERSION, Optional.of(6), true, Optional.of(Path.of("/var/lib/sluice")),
                        draining.get(), Duration.ofSeconds(90), 3);
            }

            @Override
            public String metrics() {
                return "sluice_requests_total 42\n";
            }
        };
        AdminServer.Endpoints control = (method, path, query, body) -> path.equals("/reload")
                ? Optional.of(AdminResponse.text(200, "reloaded " + method + "\n")) : Optional.empty();
        admin = AdminServer.start(new HostPort("127.0.0.1", 0), observed, control);
    }

    @AfterEach
    void stop() {
        admin.close();
        gateway.close();
    }

    @Test
    void statusShowsTheRunningVersionAndTheGatewayAsItIsNow() throws Exception {
        HttpResponse<String> answer = get("/status");
        JsonNode status = JSON.readTree(answer.body());

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.headers().firstValue("content-type")).contains("application/json");
        assertThat(status.path("state").asText()).isEqualTo("serving");
        assertThat(status.path("config_version").asInt()).isEqualTo(7);
        assertThat(status.path("config_outcome").asText()).isEqualTo("good");
        assertThat(status.path("last_known_good").asInt()).isEqualTo(6);
        assertThat(status.path("config_file_differs").asBoolean()).isTrue();
        assertThat(status.path("state_dir").asText()).isEqualTo("/var/lib/sluice");
        assertThat(status.path("uptime_seconds").asInt()).isEqualTo(90);
        assertThat(status.path("access_log_dropped_lines").asInt()).isEqualTo(3);
        assertThat(status.path("listeners").get(0).path("address").asText())
                .isEqualTo("127.0.0.1:" + gateway.address().getPort());
        assertThat(status.path("listeners").get(0).path("state").asText()).isEqualTo("active");
        assertThat(status.path("routes").get(0).path("cluster").asText()).isEqualTo("app");
        assertThat(status.path("redis").path("state").asText()).as("no redis: in the config").isEqualTo("not configured");
        JsonNode cluster = status.path("clusters").get(0);
        assertThat(cluster.path("name").asText()).isEqualTo("app");
        assertThat(cluster.path("panic").asBoolean()).isFalse();
        assertThat(cluster.path("endpoints").get(0).path("address").asText()).isEqualTo("127.0.0.1:9");
    }

    @Test
    void fromTheMomentADrainStartsReadyIs503AndStatusSaysDraining() throws Exception {
        assertThat(get("/ready").statusCode()).isEqualTo(200);

        draining.set(true);

        assertThat(get("/ready").statusCode()).isEqualTo(503);
        assertThat(get("/live").statusCode()).isEqualTo(200);
        JsonNode status = JSON.readTree(get("/status").body());
        assertThat(status.path("state").asText()).isEqualTo("draining");
        assertThat(status.path("listeners").get(0).path("state").asText()).isEqualTo("draining");
    }

    @Test
    void metricsAreServedInPrometheusTextFormat() throws Exception {
        HttpResponse<String> answer = get("/metrics");

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.headers().firstValue("content-type")).contains("text/plain; version=0.0.4; charset=utf-8");
        assertThat(answer.body()).isEqualTo("sluice_requests_total 42\n");
    }

    @Test
    void otherPathsGoToTheControlEndpointsAndUnknownOnesAre404() throws Exception {
        HttpResponse<String> reload = http.send(HttpRequest.newBuilder(uri("/reload")).header("X-Sluice-Admin", "1")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(reload.statusCode()).isEqualTo(200);
        assertThat(reload.body()).isEqualTo("reloaded POST\n");
        assertThat(get("/nothing").statusCode()).isEqualTo(404);
        assertThat(http.send(HttpRequest.newBuilder(uri("/status")).header("X-Sluice-Admin", "1").DELETE().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + admin.address().getPort() + path);
    }
}
