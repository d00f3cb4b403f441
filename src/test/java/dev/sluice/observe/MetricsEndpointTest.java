package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Instance;
import dev.sluice.config.ConfigLoader;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.Ports;
import dev.sluice.testing.PrometheusText;
import dev.sluice.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics} of a running Sluice after real traffic, parsed strictly as Prometheus
 * text: the per-request counters by route, cluster and endpoint, the histograms, and the state
 * read at the scrape (endpoints, pools, keep-alive, budget, config).
 */
class MetricsEndpointTest {
    private static final Duration AWAIT = Duration.ofSeconds(10);
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** Route api → a live backend that advertises a 7 s keep-alive; route broken → nothing listening. */
    static String config(TestBackend live, int deadPort, String extra) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: api
                    match: { path_prefix: /api/ }
                    cluster: api
                    rate_limits:
                      - { key: client, rate: 1000/s, burst: 1000 }
                  - name: broken
                    match: { path_prefix: /broken/ }
                    cluster: broken
                  - name: split
                    match: { path_prefix: /split/ }
                    backends: [{ cluster: api, weight: 1 }, { cluster: broken, weight: 0 }]
                clusters:
                  - name: api
                    endpoints: [%s]
                  - name: broken
                    endpoints: [127.0.0.1:%d]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                %s""".formatted(live.authority(), deadPort, extra);
    }

    static Instance start(String yaml) throws Exception {
        return Instance.start(ConfigLoader.parse(yaml, "<test>"), Instance.Startup.inMemory(yaml, "<test>"));
    }

    int get(Instance sluice, String path) throws Exception {
        int port = sluice.listenerAddresses().get(0).getPort();
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    PrometheusText scrape(Instance sluice) {
        try {
            HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + sluice.adminAddress().orElseThrow().getPort() + "/metrics")).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(answer.headers().firstValue("content-type")).hasValueSatisfying(
                    type -> assertThat(type).startsWith("text/plain; version=0.0.4"));
            return PrometheusText.parse(answer.body());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void requestsFailuresAttemptsAndLatencyAreCountedByRouteClusterAndEndpoint() throws Exception {
        int deadPort = Ports.freeLoopbackPort();
        try (TestBackend live = TestBackend.builder().handler(BackendHandlers.fixed(200, "ok")).keepAliveTimeout(7)
                .start();
             Instance sluice = start(config(live, deadPort, ""))) {
            for (int i = 0; i < 5; i++) {
                assertThat(get(sluice, "/api/x")).isEqualTo(200);
                assertThat(get(sluice, "/broken/x")).isEqualTo(502);
            }
            assertThat(get(sluice, "/nowhere")).isEqualTo(404);
            // Counted as each exchange finishes, just after its response went out.
            PrometheusText m = Await.value(AWAIT, () -> scrape(sluice),
                    s -> s.sum("sluice_requests_total") == 11, "11 requests counted");
            String dead = "127.0.0.1:" + deadPort;

            assertThat(m.value("sluice_requests_total", "route", "api", "cluster", "api", "code", "2xx",
                    "source", "backend", "protocol", "http1.1")).isEqualTo(5);
            assertThat(m.value("sluice_requests_total", "route", "broken", "cluster", "broken", "code", "5xx",
                    "source", "gateway", "protocol", "http1.1")).isEqualTo(5);
            assertThat(m.value("sluice_requests_total", "route", "", "cluster", "", "code", "4xx",
                    "source", "gateway", "protocol", "http1.1")).isEqualTo(1);
            assertThat(m.value("sluice_failures_total", "route", "broken", "cluster", "broken",
                    "kind", "connect_refused")).isEqualTo(5);
            assertThat(m.value("sluice_failures_total", "route", "", "cluster", "", "kind", "no_route")).isEqualTo(1);
            assertThat(m.value("sluice_failures_total", "route", "api", "cluster", "api", "kind", "connect_refused"))
                    .as("exported at 0 from the start").isZero();

            assertThat(m.family("sluice_request_duration_seconds").orElseThrow().type()).isEqualTo("histogram");
            assertThat(m.value("sluice_request_duration_seconds_count", "route", "api", "cluster", "api")).isEqualTo(5);
            assertThat(m.value("sluice_request_duration_seconds_bucket", "route", "api", "cluster", "api", "le", "+Inf"))
                    .isEqualTo(5);
            assertThat(m.value("sluice_request_duration_seconds_sum", "route", "api", "cluster", "api")).isPositive();
            assertThat(m.value("sluice_upstream_duration_seconds_count", "cluster", "api")).isEqualTo(5);
            assertThat(m.value("sluice_upstream_duration_seconds_count", "cluster", "broken")).isZero();

            assertThat(m.sum("sluice_attempts_total", "cluster", "api")).isEqualTo(5);
            assertThat(m.value("sluice_attempts_total", "cluster", "api", "connection", "reused"))
                    .as("keep-alive: later requests reuse the pooled connection").isPositive();
            assertThat(m.value("sluice_attempts_total", "cluster", "broken", "connection", "new")).isEqualTo(5);
            assertThat(m.value("sluice_retry_decisions_total", "cluster", "broken",
                    "decision", "stopped_every_endpoint_tried")).isEqualTo(5);
            assertThat(m.value("sluice_retry_decisions_total", "cluster", "broken",
                    "decision", "stopped_budget_exhausted")).isZero();
            assertThat(m.value("sluice_endpoint_attempts_total", "cluster", "api", "endpoint", live.authority()))
                    .isEqualTo(5);
            assertThat(m.value("sluice_endpoint_failures_total", "cluster", "broken", "endpoint", dead,
                    "kind", "connect_refused")).isEqualTo(5);

            // Five failures in a row eject the dead endpoint; the cluster is then in panic mode.
            assertThat(m.value("sluice_endpoint_ejected", "cluster", "broken", "endpoint", dead)).isEqualTo(1);
            assertThat(m.value("sluice_endpoint_ejections_total", "cluster", "broken", "endpoint", dead)).isEqualTo(1);
            assertThat(m.value("sluice_cluster_ejections_total", "cluster", "broken")).isEqualTo(1);
            assertThat(m.value("sluice_cluster_endpoints", "cluster", "broken", "state", "ejected")).isEqualTo(1);
            assertThat(m.value("sluice_cluster_endpoints", "cluster", "api", "state", "available")).isEqualTo(1);
            assertThat(m.value("sluice_cluster_panic", "cluster", "broken")).isEqualTo(1);
            assertThat(m.value("sluice_cluster_panic", "cluster", "api")).isZero();
            assertThat(m.value("sluice_endpoint_up", "cluster", "api", "endpoint", live.authority())).isEqualTo(1);
            assertThat(m.value("sluice_endpoint_healthy", "cluster", "api", "endpoint", live.authority())).isEqualTo(1);

            assertThat(m.value("sluice_endpoint_keepalive_timeout_seconds", "cluster", "api",
                    "endpoint", live.authority())).isEqualTo(7);
            assertThat(m.samples("sluice_endpoint_keepalive_timeout_seconds")).as("unknown for the dead one").hasSize(1);
            assertThat(m.value("sluice_pool_connections", "cluster", "api", "state", "idle")).isEqualTo(1);
            assertThat(m.value("sluice_endpoint_connections", "cluster", "api", "endpoint", live.authority(),
                    "state", "idle")).isEqualTo(1);
            assertThat(m.value("sluice_cluster_retry_budget_available", "cluster", "api")).isPositive();

            assertThat(m.value("sluice_config_version")).isEqualTo(1);
            assertThat(m.value("sluice_config_outcome", "outcome", "baking")).isEqualTo(1);
            assertThat(m.value("sluice_config_outcome", "outcome", "bad")).isZero();
            assertThat(m.value("sluice_config_last_known_good")).isZero();
            assertThat(m.value("sluice_config_rollbacks_total", "trigger", "auto")).isZero();
        }
    }

    /** The metrics docs/metrics.md lists, by name as scraped (a histogram's without its suffixes). */
    static java.util.Set<String> documented() throws java.io.IOException {
        java.util.Set<String> names = new java.util.TreeSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^\\| `(sluice_[a-z_]+)` \\|")
                .matcher(java.nio.file.Files.readString(java.nio.file.Path.of("docs/metrics.md")));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    @Test
    void everyMetricOfAScrapeIsDocumentedAndEveryDocumentedOneIsScraped() throws Exception {
        int deadPort = Ports.freeLoopbackPort();
        // Advertising its keep-alive timeout, so that the endpoint's learned one is exported too.
        try (TestBackend live = TestBackend.builder().handler(BackendHandlers.fixed(200, "ok")).keepAliveTimeout(7)
                .start();
             Instance sluice = start(config(live, deadPort, ""))) {
            assertThat(get(sluice, "/api/x")).isEqualTo(200);
            PrometheusText m = Await.value(AWAIT, () -> scrape(sluice),
                    s -> s.sum("sluice_requests_total") == 1, "1 request counted");
            java.util.Set<String> documented = documented();

            assertThat(documented).as("docs/metrics.md").containsAll(m.families().keySet());
            assertThat(m.families().keySet()).as("a scrape (the redis metrics need a redis: section, the tls ones a TLS "
                            + "listener, the mirror and record ones a route with mirror: or record:)")
                    .containsAll(documented.stream().filter(n -> !n.startsWith("sluice_redis_") && !n.startsWith("sluice_tls_")
                            && !n.startsWith("sluice_mirror_") && !n.startsWith("sluice_record_")).toList());
        }
    }

    @Test
    void endpointLabelsTurnedOffLeaveNoSeriesPerEndpoint() throws Exception {
        int deadPort = Ports.freeLoopbackPort();
        try (TestBackend live = TestBackend.start(BackendHandlers.fixed(200, "ok"));
             Instance sluice = start(config(live, deadPort, "metrics: { endpoint_labels: false }\n"))) {
            assertThat(get(sluice, "/api/x")).isEqualTo(200);
            assertThat(get(sluice, "/broken/x")).isEqualTo(502);
            PrometheusText m = Await.value(AWAIT, () -> scrape(sluice),
                    s -> s.sum("sluice_requests_total") == 2, "2 requests counted");

            List<String> withEndpoint = m.families().values().stream()
                    .flatMap(f -> f.samples().stream())
                    .filter(s -> s.labels().containsKey("endpoint"))
                    .map(PrometheusText.Sample::name).distinct().toList();
            assertThat(withEndpoint).isEmpty();
            assertThat(m.value("sluice_cluster_endpoints", "cluster", "api", "state", "available")).isEqualTo(1);
            assertThat(m.value("sluice_failures_total", "route", "broken", "cluster", "broken",
                    "kind", "connect_refused")).isEqualTo(1);
            assertThat(m.value("sluice_pool_connections", "cluster", "api", "state", "idle")).isEqualTo(1);
        }
    }
}
