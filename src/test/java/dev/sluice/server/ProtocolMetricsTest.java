package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.PrometheusText;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code sluice_requests} says which protocol the client spoke: {@code http1.1} or {@code h2}. */
class ProtocolMetricsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void requestsAreCountedByTheProtocolTheClientSpoke() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "ok"));
             TestGateway gateway = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                         http2: { h2c: true }
                     routes:
                       - name: app
                         match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [%s]
                     """.formatted(backend.authority()))) {
            try (RawHttpClient h1 = RawHttpClient.connect(gateway.address())) {
                h1.send("GET /one HTTP/1.1\r\nHost: app\r\n\r\n");
                assertThat(h1.readFinalResponse(WAIT).status()).isEqualTo(200);
            }
            try (RawH2Client h2 = new RawH2Client(gateway.address())) {
                for (int stream = 1; stream <= 5; stream += 2) {
                    h2.headers(stream, RawH2Client.request("GET", "/two"), true);
                    assertThat(h2.status(stream)).isEqualTo(200);
                }
            }
            PrometheusText m = Await.value(WAIT, () -> PrometheusText.parse(gateway.gateway().metrics().scrape()),
                    s -> s.sum("sluice_requests_total") == 4, "4 requests counted");
            assertThat(m.value("sluice_requests_total", "route", "app", "cluster", "app", "code", "2xx",
                    "source", "backend", "protocol", "http1.1")).isEqualTo(1);
            assertThat(m.value("sluice_requests_total", "route", "app", "cluster", "app", "code", "2xx",
                    "source", "backend", "protocol", "h2")).isEqualTo(3);
            assertThat(m.value("sluice_requests_total", "route", "app", "cluster", "app", "code", "5xx",
                    "source", "backend", "protocol", "http1.1")).as("HTTP/1.1's expected series, from the start")
                    .isZero();
            assertThat(m.sum("sluice_requests_total", "protocol", "h2")).as("no HTTP/2 series at 0").isEqualTo(3);
            assertThat(m.samples("sluice_requests_total").stream()
                    .filter(s -> "h2".equals(s.labels().get("protocol")))).hasSize(1);
        }
    }
}
