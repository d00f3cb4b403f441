package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigVersion;
import dev.sluice.server.TestGateway;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What /status says of each route: the cluster it sends to, or what it answers with itself. */
class StatusRoutesTest {
    @Test
    void aRouteThatAnswersItselfHasNoClusterAndSaysWhatItAnswers() throws Exception {
        try (TestGateway gw = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: robots
                    match: { path: /robots.txt }
                    respond: { status: 200, body: "User-agent: *\\n" }
                  - name: old
                    match: { path_prefix: /old/ }
                    redirect: { to: "https://example.com${uri}", status: 301 }
                  - name: app
                    match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9]
                """)) {
            Status status = new Status(gw.gateway(), new ConfigVersion(1, Instant.EPOCH, "test", "ab".repeat(32),
                    ConfigVersion.Outcome.GOOD, Optional.empty(), 0, 0, ""), Optional.empty(),
                    false, Optional.empty(), false, Duration.ZERO, 0);

            @SuppressWarnings("unchecked")
            List<Map<String, Object>> routes = (List<Map<String, Object>>) status.toJson(0).get("routes");

            assertThat(routes).extracting(r -> r.get("name"), r -> r.get("cluster"), r -> r.get("answers"))
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("robots", null, "respond 200"),
                            org.assertj.core.groups.Tuple.tuple("old", null, "redirect 301"),
                            org.assertj.core.groups.Tuple.tuple("app", "app", null));
        }
    }

    @Test
    void anAdaptiveClustersStatusShowsTheBaselineItLearnedFromTraffic() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway gw = TestGateway.proxyTo(backend.address());
             RawHttpClient client = RawHttpClient.connect(gw.address())) {
            assertThat(concurrency(gw)).containsEntry("mode", "adaptive").containsEntry("baseline_ms", null);

            // The first requests that end start the measure: 25 requests at 3 at once.
            Await.until(Duration.ofSeconds(20), () -> {
                assertThat(client.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n").readResponse(Duration.ofSeconds(10))
                        .status()).isEqualTo(200);
                return concurrency(gw).get("baseline_ms") != null;
            }, "a baseline measured");

            assertThat((Double) concurrency(gw).get("baseline_ms")).isPositive();
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> concurrency(TestGateway gw) {
        Status status = new Status(gw.gateway(), new ConfigVersion(1, Instant.EPOCH, "test", "ab".repeat(32),
                ConfigVersion.Outcome.GOOD, Optional.empty(), 0, 0, ""), Optional.empty(), false, Optional.empty(),
                false, Duration.ZERO, 0);
        List<Map<String, Object>> clusters = (List<Map<String, Object>>) status.toJson(System.nanoTime()).get("clusters");
        return (Map<String, Object>) clusters.get(0).get("concurrency");
    }
}
