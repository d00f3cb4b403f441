package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import dev.sluice.testing.H2Backend;
import dev.sluice.testing.Ports;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clusters[].protocol: h2c} on real sockets: HTTP/1.1 clients reach an HTTP/2 backend
 * through Sluice, their requests multiplexed as streams on one connection per endpoint per event
 * loop, with {@code :authority} from {@code Host}, hop-by-hop fields left out, bodies and
 * trailers both ways; the backend's stream limit opens another connection; a backend's GOAWAY
 * loses no request, whatever its method; a cluster nobody listens at is {@code connect_refused}.
 */
class Http2UpstreamTest {
    private static final Duration T = Duration.ofSeconds(10);

    private static String config(String endpoint) {
        return h2cCluster(endpoint, false);
    }

    /**
     * A listener at 127.0.0.1:0 sending every path to the cluster {@code app} of {@code endpoint}
     * over h2c, with no concurrency limit and {@code clusterLines} (each {@code key: value}) added;
     * on one event loop where {@code oneLoop}, so every request shares one connection to it.
     */
    static String h2cCluster(String endpoint, boolean oneLoop, String... clusterLines) {
        StringBuilder extra = new StringBuilder();
        for (String line : clusterLines) {
            extra.append("    ").append(line).append('\n');
        }
        return (oneLoop ? "server: { event_loop_threads: 1 }\n" : "") + """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                    protocol: h2c
                    concurrency: { limit: off }
                """.formatted(endpoint) + extra;
    }

    private static RawResponse send(TestGateway gateway, String request) {
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            return client.send(request).readResponse(T);
        }
    }

    @Test
    void anHttp11RequestGoesToAnH2cBackendAsAStreamAndComesBack() throws Exception {
        try (H2Backend backend = H2Backend.cleartext();
             TestGateway gateway = TestGateway.fromYaml(config(backend.authority()))) {
            RawResponse r = send(gateway, "GET /hello?x=1 HTTP/1.1\r\nHost: shop.example\r\nConnection: keep-alive, x-hop\r\n"
                    + "X-Hop: dropped\r\nX-Custom: kept\r\n\r\n");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("x-seen-method")).isEqualTo("GET");
            assertThat(r.header("x-seen-path")).isEqualTo("/hello?x=1");
            assertThat(r.header("x-seen-authority")).isEqualTo("shop.example");
            assertThat(r.header("x-seen-scheme")).isEqualTo("http");
            assertThat(r.header("via")).isEqualTo("1.1 sluice");
            H2Backend.Seen seen = backend.seen().getFirst();
            assertThat(seen.fields()).containsEntry("x-custom", "kept").doesNotContainKey("x-hop")
                    .doesNotContainKey("connection").doesNotContainKey("host").containsEntry("te", "trailers");
            assertThat(seen.fields().get("x-forwarded-for")).isEqualTo("127.0.0.1");
            Await.untilAsserted(T, () -> assertThat(gateway.accessLogLines())
                    .anySatisfy(line -> assertThat(line).contains("\"path\":\"/hello?x=1\"").contains("\"status\":200")));
        }
    }

    @Test
    void bodiesAndTrailersGoBothWaysAndRequestsShareOneConnection() throws Exception {
        try (H2Backend backend = H2Backend.cleartext();
             TestGateway gateway = TestGateway.fromYaml(config(backend.authority()))) {
            String body = "a body sent over h2c ".repeat(2000);
            RawResponse declared = send(gateway, "POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body);
            assertThat(declared.status()).isEqualTo(200);
            assertThat(declared.bodyString()).isEqualTo(body);

            RawResponse chunked = send(gateway, "POST /upload HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n"
                    + "TE: trailers\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n");
            assertThat(chunked.status()).isEqualTo(200);
            assertThat(chunked.bodyString()).isEqualTo("hello world");
            assertThat(chunked.framing()).isEqualTo(RawResponse.Framing.CHUNKED);
            assertThat(chunked.trailer("x-checksum")).isEqualTo("abc");
            assertThat(chunked.trailer("x-body-length")).isEqualTo("11");
            H2Backend.Seen seen = backend.seen().getLast();
            assertThat(seen.trailers()).containsEntry("x-checksum", "abc");
            assertThat(seen.fields()).doesNotContainKey("transfer-encoding");

            for (int i = 0; i < 5; i++) {
                assertThat(send(gateway, "GET /again HTTP/1.1\r\nHost: shop.example\r\n\r\n").status()).isEqualTo(200);
            }
            // One event loop in the test gateway? Each loop has its own connection: at most one per loop.
            assertThat(backend.connections()).isLessThanOrEqualTo(Runtime.getRuntime().availableProcessors() * 2);
            assertThat(backend.seen()).hasSize(7);
        }
    }

    @Test
    void theBackendsStreamLimitOpensAnotherConnection() throws Exception {
        try (H2Backend backend = H2Backend.cleartext(1, 200);
             TestGateway gateway = TestGateway.fromYaml(config(backend.authority()))) {
            // Warm: the first connection is open and its SETTINGS (one stream at a time) known.
            assertThat(send(gateway, "GET /warm HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(200);
            List<CompletableFuture<RawResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                calls.add(CompletableFuture.supplyAsync(() -> send(gateway, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")));
            }
            for (CompletableFuture<RawResponse> call : calls) {
                assertThat(call.get().status()).isEqualTo(200);
            }
            assertThat(backend.seen()).hasSize(5);
            assertThat(backend.connections()).isGreaterThan(1);
        }
    }

    @Test
    void aBackendGoingAwayLosesNoRequestEvenPosts() throws Exception {
        try (H2Backend backend = H2Backend.goingAwayAtStream(3);
             TestGateway gateway = TestGateway.fromYaml(config(backend.authority()))) {
            List<CompletableFuture<RawResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                String body = "order-" + i;
                calls.add(CompletableFuture.supplyAsync(() -> send(gateway, "POST /orders HTTP/1.1\r\nHost: a\r\n"
                        + "Content-Length: " + body.length() + "\r\n\r\n" + body)));
            }
            for (int i = 0; i < calls.size(); i++) {
                RawResponse r = calls.get(i).get();
                assertThat(r.status()).as("order %d: %s", i, r.header("x-sluice-error")).isEqualTo(200);
                assertThat(r.bodyString()).isEqualTo("order-" + i);
            }
            // Each one processed exactly once, though every connection refused its third stream.
            assertThat(backend.seen()).extracting(H2Backend.Seen::bodyString)
                    .containsExactlyInAnyOrderElementsOf(IntStream.range(0, 24).mapToObj(i -> "order-" + i).toList());
            assertThat(backend.connections()).isGreaterThan(1);
            // The refused streams were tried again, on the same endpoint, as the log says.
            Await.untilAsserted(T, () -> assertThat(gateway.accessLogLines())
                    .anySatisfy(line -> assertThat(line).contains("\"failure\":\"stream_refused\"")
                            .contains("\"status\":200")));
        }
    }

    @Test
    void h2OverTlsIsChosenByAlpnAndTheCertificateChecked(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.authority();
        Path caFile = ca.writeCa(dir.resolve("ca.pem"));
        try (H2Backend backend = H2Backend.tls(ca.issue("api.internal"));
             TestGateway gateway = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                     routes:
                       - match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [%s]
                         protocol: h2
                         tls: { ca: %s, sni: api.internal }
                     """.formatted(backend.authority(), caFile))) {
            RawResponse r = send(gateway, "GET /secure HTTP/1.1\r\nHost: shop.example\r\n\r\n");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("x-seen-scheme")).isEqualTo("https");
            assertThat(r.header("x-seen-path")).isEqualTo("/secure");
        }
    }

    @Test
    void anH2ClusterWhoseEndpointDoesNotChooseH2ByAlpnIsUpstreamTlsFailed(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.authority();
        Path caFile = ca.writeCa(dir.resolve("ca.pem"));
        TestCertificates.Issued issued = ca.issue("api.internal");
        // An HTTPS backend that speaks HTTP/1.1 only (no ALPN at all).
        try (TestBackend backend = TestBackend.builder().handler(BackendHandlers.fixed(200, "h1"))
                .tls(SslContextBuilder.forServer(issued.key(), issued.certificate()).build()).start();
             TestGateway gateway = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                     routes:
                       - match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [%s]
                         protocol: h2
                         tls: { ca: %s, sni: api.internal }
                     """.formatted(backend.authority(), caFile))) {
            RawResponse r = send(gateway, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("x-sluice-error")).isEqualTo("upstream_tls_failed");
            assertThat(backend.requestCount()).isZero();
        }
    }

    @Test
    void aConnectionLostMidRequestFailsItsStreamsByNameAndRetriesOnlyWhatIsSafe() throws Exception {
        try (H2Backend backend = H2Backend.cleartext();
             TestGateway gateway = TestGateway.fromYaml(config(backend.authority()))) {
            RawResponse post = send(gateway, "POST /die HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
            assertThat(post.status()).isEqualTo(502);
            assertThat(post.header("x-sluice-error")).isEqualTo("reset_before_response");
            assertThat(backend.deaths()).as("a POST is not sent again").isEqualTo(1);

            RawResponse get = send(gateway, "GET /die HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(get.status()).isEqualTo(502);
            assertThat(get.header("x-sluice-error")).isEqualTo("reset_before_response");
            assertThat(backend.deaths()).as("a GET is, on new connections").isGreaterThan(2);
            // The connection after them serves as before.
            assertThat(send(gateway, "GET /fine HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(200);
        }
    }

    @Test
    void anH2cClusterWhoseEndpointSpeaksOnlyHttp11IsABadResponse() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "h1"));
             TestGateway gateway = TestGateway.fromYaml(config(backend.authority()))) {
            RawResponse r = send(gateway, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("x-sluice-error")).isEqualTo("bad_response");
        }
    }

    @Test
    void aClusterNobodyListensAtIsConnectRefused() throws Exception {
        int port = Ports.freeLoopbackPort();
        try (TestGateway gateway = TestGateway.fromYaml(config("127.0.0.1:" + port))) {
            RawResponse r = send(gateway, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("x-sluice-error")).isEqualTo("connect_refused");
        }
    }
}
