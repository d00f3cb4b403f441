package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.route.Route;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendExchange;
import dev.sluice.testing.Ports;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.Sha256;
import dev.sluice.testing.TestBackend;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Mirroring on real sockets: the copy's head and body at the mirror, and above all what the
 * client never sees: a mirror that holds its copies, one that is down, a body too large to copy.
 * Each judged by behaviour (responses arriving while the mirror still holds its copies), not by time.
 * What became of each request's copy is in its access-log line ({@code mirror}) and the metrics.
 */
class MirrorTest {
    private static final Duration T = Duration.ofSeconds(10);

    private TestBackend primary;
    private TestBackend mirror;
    private TestGateway gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (mirror != null) {
            mirror.close();
        }
        if (primary != null) {
            primary.close();
        }
    }

    private static String yaml(String primary, String staging, String mirror) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: api
                    match: { path_prefix: / }
                    cluster: app
                    mirror: %s
                clusters:
                  - name: app
                    endpoints: [%s]
                  - name: staging
                    endpoints: [%s]
                """.formatted(mirror, primary, staging);
    }

    private Map<String, Object> status() {
        Route api = gateway.gateway().snapshot().routes().routes().get(0);
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) gateway.gateway().taps().status(api).get("mirror");
        return m;
    }

    private long counted(String outcome) {
        return ((Number) status().get(outcome)).longValue();
    }

    /** The access log's {@code mirror} of each line, waiting until there are {@code n} lines. */
    private List<String> mirrorFields(int n) {
        Await.until(T, () -> gateway.accessLogLines().size() == n, () -> n + " access-log lines, not "
                + gateway.accessLogLines());
        return gateway.accessLogLines().stream().map(line -> {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"mirror\":\"([a-z_]+)\"").matcher(line);
            return m.find() ? m.group(1) : "(none)";
        }).toList();
    }

    private double metric(String name, String... labels) {
        return dev.sluice.testing.PrometheusText.parse(gateway.gateway().metrics().scrape()).value(name, labels);
    }

    private RawResponse post(RawHttpClient client, String path, String body) {
        client.send("POST " + path + " HTTP/1.1\r\nHost: api.example:8080\r\nContent-Type: text/plain\r\nContent-Length: "
                + body.length() + "\r\n\r\n" + body);
        return client.readResponse(T);
    }

    @Test
    void aCopyReachesTheMirrorWithTheShadowHostAndTheMirrorHeader() {
        primary = TestBackend.start(ex -> ex.respond(200, "primary"));
        mirror = TestBackend.start(ex -> ex.respond(500, "staging is broken"));
        gateway = start(yaml(primary.authority(), mirror.authority(), "{ cluster: staging }"));
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            RawResponse response = post(client, "/orders?id=7", "hello staging");
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.bodyString()).isEqualTo("primary");
        }
        RecordedRequest copy = mirror.awaitRequests(1, T).get(0);
        assertThat(copy.method()).isEqualTo("POST");
        assertThat(copy.uri()).isEqualTo("/orders?id=7");
        assertThat(copy.header("host")).isEqualTo("api.example-shadow:8080");
        assertThat(copy.header("x-sluice-mirror")).isEqualTo("1");
        assertThat(copy.header("x-forwarded-for")).isEqualTo("127.0.0.1");
        assertThat(copy.bodyString()).isEqualTo("hello staging");
        RecordedRequest original = primary.lastRequest();
        assertThat(original.header("host")).isEqualTo("api.example:8080");
        assertThat(original.header("x-sluice-mirror")).isNull();
        assertThat(original.bodyString()).isEqualTo("hello staging");
        // The mirror's 500 was read and dropped: counted as answered, never the client's.
        Await.until(T, () -> counted("answered") == 1, "the copy counted as answered");

        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            client.send("GET /items HTTP/1.1\r\nHost: shop.example\r\n\r\n");
            assertThat(client.readResponse(T).bodyString()).isEqualTo("primary");
        }
        RecordedRequest get = mirror.awaitRequests(2, T).get(1);
        assertThat(get.method()).isEqualTo("GET");
        assertThat(get.header("host")).isEqualTo("shop.example-shadow");
        assertThat(get.bodyLength()).isZero();
        Await.until(T, () -> counted("answered") == 2, "the GET's copy answered too");
        assertThat(mirrorFields(2)).containsExactly("sent", "sent");
        assertThat(counted("sent")).isEqualTo(2);
        assertThat(metric("sluice_mirror_sent_total", "route", "api")).isEqualTo(2);
        assertThat(metric("sluice_mirror_responses_total", "route", "api", "class", "5xx")).as("staging's 500s")
                .isEqualTo(2);
        assertThat(metric("sluice_mirror_responses_total", "route", "api", "class", "2xx")).isZero();
        assertThat(metric("sluice_mirror_requests_total", "route", "api", "outcome", "answered")).isEqualTo(2);
    }

    @Test
    void aMirrorHoldingItsCopiesNeverHoldsTheClientsAndDropsWhatIsOverItsBound() {
        ConcurrentLinkedQueue<BackendExchange> held = new ConcurrentLinkedQueue<>();
        primary = TestBackend.start(ex -> ex.respond(200, "primary"));
        mirror = TestBackend.start(held::add);
        gateway = start(yaml(primary.authority(), mirror.authority(), "{ cluster: staging, max_in_flight: 3 }"));
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            for (int i = 0; i < 10; i++) {
                // Each answer arrives while the mirror still holds every copy it got: none was waited for.
                RawResponse response = post(client, "/pay/" + i, "body " + i);
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.bodyString()).isEqualTo("primary");
            }
            Await.until(T, () -> held.size() == 3, "the mirror holds 3 copies");
            assertThat(primary.requestCount()).isEqualTo(10);
            assertThat(counted("dropped_busy")).isEqualTo(7);
            assertThat(counted("in_flight")).isEqualTo(3);
            assertThat(counted("answered")).isZero();

            held.forEach(ex -> ex.respond(200, "late"));
            held.clear();
            Await.until(T, () -> counted("answered") == 3 && counted("in_flight") == 0, "the held copies answered");
            // Places given back: the next copy goes out again.
            assertThat(post(client, "/pay/again", "again").status()).isEqualTo(200);
            Await.until(T, () -> held.size() == 1, "a fourth copy at the mirror");
            held.poll().respond(200, "late");
            Await.until(T, () -> counted("answered") == 4, "the fourth copy answered");
        }
        String scrape = gateway.gateway().metrics().scrape();
        assertThat(scrape).contains("sluice_mirror_requests_total{outcome=\"dropped_busy\",route=\"api\"} 7.0");
        List<String> logged = mirrorFields(11);
        assertThat(logged.stream().filter("sent"::equals).count()).isEqualTo(4);
        assertThat(logged.stream().filter("dropped_busy"::equals).count()).isEqualTo(7);
        assertThat(metric("sluice_mirror_sent_total", "route", "api")).isEqualTo(4);
        assertThat(metric("sluice_mirror_responses_total", "route", "api", "class", "2xx")).isEqualTo(4);
    }

    @Test
    void aMirrorThatIsDownCostsTheClientsNothingAndIsSoonNotEvenTried() throws Exception {
        primary = TestBackend.start(ex -> ex.respond(200, "primary"));
        int nobody = Ports.freeLoopbackPort();
        gateway = start(yaml(primary.authority(), "127.0.0.1:" + nobody, "{ cluster: staging }"));
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            for (int i = 0; i < 20; i++) {
                RawResponse response = post(client, "/x", "payload");
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.bodyString()).isEqualTo("primary");
            }
        }
        // Five refused connects eject the staging endpoint (passive health); then copies are
        // dropped without a connect until the ejection ends.
        Await.until(T, () -> counted("failed") + counted("dropped_no_endpoint") == 20, "20 copies ended");
        assertThat(counted("failed")).isEqualTo(5);
        assertThat(counted("in_flight")).isZero();
        Await.until(T, () -> gateway.accessLogLines().size() == 20, "20 access-log lines");
        assertThat(gateway.accessLogLines()).allMatch(line -> line.contains("\"status\":200"));
        // The five tried were sent (and failed: the metrics say so); the rest never left.
        List<String> logged = mirrorFields(20);
        assertThat(logged.stream().filter("sent"::equals).count()).isEqualTo(5);
        assertThat(logged.stream().filter("dropped_no_endpoint"::equals).count()).isEqualTo(15);
        assertThat(metric("sluice_mirror_sent_total", "route", "api")).isEqualTo(5);
    }

    @Test
    void aMirrorThatNeverAnswersIsGivenUpAfterItsTimeout() {
        ConcurrentLinkedQueue<BackendExchange> held = new ConcurrentLinkedQueue<>();
        primary = TestBackend.start(ex -> ex.respond(200, "primary"));
        mirror = TestBackend.start(held::add);
        gateway = start(yaml(primary.authority(), mirror.authority(), "{ cluster: staging, timeout: 200ms }"));
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            assertThat(post(client, "/slow", "x").status()).isEqualTo(200);
        }
        Await.until(T, () -> counted("timed_out") == 1 && counted("in_flight") == 0, "the copy timed out");
    }

    @Test
    void aBodyOverMaxBodyIsNotMirroredAndThePrimaryGetsItWhole() {
        primary = TestBackend.start(ex -> ex.respond(200, ex.request().bodySha256()));
        mirror = TestBackend.start(ex -> ex.respond(200, "copy"));
        gateway = start(yaml(primary.authority(), mirror.authority(), "{ cluster: staging, max_body: 1KiB }"));
        byte[] big = new byte[256 * 1024];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) ('a' + i % 26);
        }
        String body = new String(big, StandardCharsets.US_ASCII);
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            RawResponse sized = post(client, "/upload", body);
            assertThat(sized.bodyString()).isEqualTo(Sha256.hex(big));
            // Chunked: its size is learnt as it streams; the copy is cut once past max_body.
            StringBuilder chunked = new StringBuilder("POST /upload HTTP/1.1\r\nHost: api.example\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int off = 0; off < big.length; off += 16 * 1024) {
                chunked.append(Integer.toHexString(16 * 1024)).append("\r\n").append(body, off, off + 16 * 1024).append("\r\n");
            }
            client.send(chunked.append("0\r\n\r\n").toString());
            assertThat(client.readResponse(T).bodyString()).isEqualTo(Sha256.hex(big));
            assertThat(post(client, "/small", "small").status()).isEqualTo(200);
        }
        Await.until(T, () -> counted("too_large") == 2 && counted("answered") == 1, "two too large, one copied");
        List<RecordedRequest> copies = mirror.requests();
        assertThat(copies).extracting(RecordedRequest::uri).containsExactly("/small");
        assertThat(mirrorFields(3)).containsExactly("too_large", "too_large", "sent");
    }

    @Test
    void aRequestNeverForwardedHasNoCopyAndARouteWithoutAMirrorLogsNone() {
        primary = TestBackend.start(ex -> ex.respond(200, "primary"));
        mirror = TestBackend.start(ex -> ex.respond(200, "copy"));
        gateway = start("""
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: plain
                    match: { path_prefix: /plain }
                    cluster: app
                  - name: api
                    match: { path_prefix: / }
                    cluster: app
                    max_body: 1KiB
                    mirror: { cluster: staging }
                clusters:
                  - name: app
                    endpoints: [%s]
                  - name: staging
                    endpoints: [%s]
                """.formatted(primary.authority(), mirror.authority()));
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            assertThat(post(client, "/upload", "x".repeat(2048)).status()).isEqualTo(413);
        }
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            assertThat(post(client, "/plain", "y").status()).isEqualTo(200);
        }
        assertThat(mirrorFields(2)).containsExactly("not_forwarded", "(none)");
        assertThat(metric("sluice_mirror_requests_total", "route", "api", "outcome", "not_forwarded")).isEqualTo(1);
        assertThat(metric("sluice_mirror_sent_total", "route", "api")).isZero();
        assertThat(mirror.connectionsAccepted()).isZero();
    }

    @Test
    void aFractionOfZeroMirrorsNothing() {
        primary = TestBackend.start(ex -> ex.respond(200, "primary"));
        mirror = TestBackend.start(ex -> ex.respond(200, "copy"));
        gateway = start(yaml(primary.authority(), mirror.authority(), "{ cluster: staging, fraction: 0 }"));
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            for (int i = 0; i < 5; i++) {
                assertThat(post(client, "/x", "y").status()).isEqualTo(200);
            }
        }
        assertThat(primary.requestCount()).isEqualTo(5);
        assertThat(mirror.connectionsAccepted()).isZero();
        assertThat(mirrorFields(5)).containsOnly("not_sampled");
        assertThat(metric("sluice_mirror_requests_total", "route", "api", "outcome", "not_sampled")).isEqualTo(5);
    }

    private static TestGateway start(String yaml) {
        try {
            return TestGateway.fromYaml(yaml);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
