package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the access log says of a request, on real sockets: who the client says it is
 * ({@code user_agent}, {@code referer}) and the path with credentials in its query redacted,
 * while the backend gets the request as sent.
 */
class AccessLogFieldsTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theLogNamesTheUserAgentAndRefererAndHidesQueryCredentialsTheBackendStillGets() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway gw = TestGateway.proxyTo(backend.address());
             RawHttpClient client = RawHttpClient.connect(gw.address())) {
            // Forwarded from its bytes, then one whose head Sluice rewrites (it carries X-Forwarded-For).
            assertThat(client.send("GET /cb?code=s3cret&state=ok HTTP/1.1\r\nHost: app\r\nUser-Agent: curl/8.5.0\r\n"
                    + "Referer: https://example.com/login\r\n\r\n").readResponse(T).status()).isEqualTo(200);
            assertThat(client.send("GET /api?access_token=eyJ.a.b&page=2 HTTP/1.1\r\nHost: app\r\n"
                    + "X-Forwarded-For: 192.0.2.9\r\nUser-Agent: Mozilla/5.0 (X11)\r\n\r\n").readResponse(T).status())
                    .isEqualTo(200);

            Await.until(T, () -> gw.accessLogLines().size() == 2, "two log lines");
            List<String> lines = gw.accessLogLines();
            JsonNode verbatim = JSON.readTree(lines.get(0));
            JsonNode rewritten = JSON.readTree(lines.get(1));

            assertThat(verbatim.get("path").asText()).isEqualTo("/cb?code=REDACTED&state=ok");
            assertThat(verbatim.get("user_agent").asText()).isEqualTo("curl/8.5.0");
            assertThat(verbatim.get("referer").asText()).isEqualTo("https://example.com/login");
            assertThat(rewritten.get("path").asText()).isEqualTo("/api?access_token=REDACTED&page=2");
            assertThat(rewritten.get("user_agent").asText()).isEqualTo("Mozilla/5.0 (X11)");
            assertThat(rewritten.get("referer").isNull()).as("no Referer sent").isTrue();
            assertThat(backend.requests()).extracting(r -> r.uri())
                    .containsExactly("/cb?code=s3cret&state=ok", "/api?access_token=eyJ.a.b&page=2");
        }
    }

    @Test
    void aRequestAShadowLimitWouldHaveRefusedIsServedAndItsLineNamesTheLimit() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             TestGateway gw = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                     routes:
                       - name: app
                         match: { path_prefix: / }
                         cluster: app
                         rate_limits:
                           - { name: trial, key: route, rate: 1/m, burst: 1, mode: shadow }
                     clusters:
                       - name: app
                         endpoints: [%s]
                     """.formatted(backend.authority()));
             RawHttpClient client = RawHttpClient.connect(gw.address())) {
            for (int i = 0; i < 3; i++) {
                assertThat(client.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n").readResponse(T).status()).isEqualTo(200);
            }

            Await.until(T, () -> gw.accessLogLines().size() == 3, "three log lines");
            List<JsonNode> lines = gw.accessLogLines().stream().map(AccessLogFieldsTest::json).toList();
            assertThat(lines.get(0).has("shadow_limited")).as("the first is within the burst").isFalse();
            assertThat(lines.subList(1, 3)).allSatisfy(line -> {
                assertThat(line.get("status").asInt()).isEqualTo(200);
                assertThat(line.get("shadow_limited").asText()).isEqualTo("trial");
            });
        }
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
