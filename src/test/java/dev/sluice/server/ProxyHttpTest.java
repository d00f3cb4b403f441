package dev.sluice.server;

import static dev.sluice.testing.BackendHandlers.echo;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ListenerConfig;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.TestBackend;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** HTTP/1.1 semantics through the proxy, on real sockets, as a client and a backend see them. */
class ProxyHttpTest {
    private static final Duration T = Duration.ofSeconds(10);

    private TestBackend backend;
    private TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        backend = TestBackend.start(echo());
        gateway = TestGateway.proxyTo(backend.address());
    }

    @AfterEach
    void stop() {
        gateway.close();
        backend.close();
    }

    private RawHttpClient client() {
        return RawHttpClient.connect(gateway.address());
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    }

    @Test
    void keepAliveOnBothSidesReusesOneUpstreamConnection() {
        try (RawHttpClient c = client()) {
            for (int i = 0; i < 5; i++) {
                RawResponse r = c.send(get("/k" + i)).readResponse(T);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.connectionClose()).isFalse();
            }
        }
        assertThat(backend.requestCount()).isEqualTo(5);
        assertThat(backend.connectionsAccepted()).isEqualTo(1);
        // A line is logged as its exchange ends, just after the response is written: wait for all five.
        Await.until(T, () -> gateway.accessLogLines().size() == 5, "five access log lines");
        assertThat(gateway.accessLogLines()).anySatisfy(l -> assertThat(l).contains("\"reused\":true"));
    }

    @Test
    void requestBodyWithContentLengthArrivesIntact() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world").readResponse(T);
            assertThat(r.status()).isEqualTo(200);
        }
        RecordedRequest seen = backend.lastRequest();
        assertThat(seen.method()).isEqualTo("POST");
        assertThat(seen.bodyString()).isEqualTo("hello world");
    }

    @Test
    void chunkedRequestBodyAndItsTrailersAreForwarded() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("POST /c HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(200);
        }
        RecordedRequest seen = backend.lastRequest();
        assertThat(seen.bodyString()).isEqualTo("hello world");
        assertThat(seen.trailer("x-checksum")).isEqualTo("abc");
    }

    @Test
    void chunkedResponseWithTrailersReachesTheClient() {
        backend.handler(BackendHandlers.chunkedWithTrailers(List.of("ab", "cd", "ef"), Map.of("x-digest", "42")));
        try (RawHttpClient c = client()) {
            RawResponse r = c.send(get("/t")).readResponse(T);
            assertThat(r.framing()).isEqualTo(RawResponse.Framing.CHUNKED);
            assertThat(r.bodyString()).isEqualTo("abcdef");
            assertThat(r.trailer("x-digest")).isEqualTo("42");
        }
    }

    @Test
    void headResponseHasHeadersButNoBodyAndTheConnectionStaysUsable() {
        backend.handler(BackendHandlers.fixed(200, "twelve bytes"));
        try (RawHttpClient c = client()) {
            RawResponse head = c.send("HEAD /h HTTP/1.1\r\nHost: test\r\n\r\n").readResponse(T, "HEAD");
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("content-length")).isEqualTo("12");
            assertThat(head.body()).isEmpty();
            RawResponse next = c.send(get("/after")).readResponse(T);
            assertThat(next.bodyString()).isEqualTo("twelve bytes");
        }
    }

    @Test
    void noContentAndNotModifiedCarryNoBody() {
        backend.handler(BackendHandlers.sequence(BackendHandlers.noContent(), BackendHandlers.notModified("\"v1\"")));
        try (RawHttpClient c = client()) {
            assertThat(c.send(get("/a")).readResponse(T).status()).isEqualTo(204);
            RawResponse r = c.send(get("/b")).readResponse(T);
            assertThat(r.status()).isEqualTo(304);
            assertThat(r.body()).isEmpty();
            // The connection is intact after a bodyless 304 (the sequence repeats its last answer).
            assertThat(c.send(get("/c")).readResponse(T).status()).isEqualTo(304);
        }
    }

    @Test
    void expectContinueIsAnsweredBeforeTheBodyIsSent() {
        try (RawHttpClient c = client()) {
            c.send("PUT /e HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
            RawResponse interim = c.readResponse(T);
            assertThat(interim.status()).isEqualTo(100);
            RawResponse r = c.send("data").readResponse(T);
            assertThat(r.status()).isEqualTo(200);
        }
        assertThat(backend.lastRequest().bodyString()).isEqualTo("data");
        assertThat(backend.lastRequest().header("expect")).isNull();
    }

    @Test
    void earlyHintsFromTheBackendReachAnHttp11Client() {
        backend.handler(BackendHandlers.earlyHints("</style.css>; rel=preload", BackendHandlers.fixed(200, "ok")));
        try (RawHttpClient c = client()) {
            RawResponse r = c.send(get("/hints")).readFinalResponse(T);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.interim()).extracting(RawResponse::status).containsExactly(103);
            assertThat(r.interim().get(0).header("link")).isEqualTo("</style.css>; rel=preload");
        }
    }

    @Test
    void clientConnectionCloseIsHonoured() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.connectionClose()).isTrue();
            c.awaitClosed(T);
        }
        // The backend never sees the client's hop-by-hop Connection header.
        assertThat(backend.lastRequest().header("connection")).isNull();
    }

    @Test
    void backendConnectionCloseRetiresTheUpstreamConnectionOnly() {
        backend.handler(BackendHandlers.connectionClose(BackendHandlers.fixed(200, "bye")));
        try (RawHttpClient c = client()) {
            for (int i = 0; i < 3; i++) {
                RawResponse r = c.send(get("/x")).readResponse(T);
                assertThat(r.bodyString()).isEqualTo("bye");
                assertThat(r.connectionClose()).isFalse();
            }
        }
        assertThat(backend.connectionsAccepted()).isEqualTo(3);
    }

    @Test
    void http10ClientGetsACloseDelimitedOrSizedResponseAndIsClosed() {
        backend.handler(BackendHandlers.chunkedWithTrailers(List.of("one", "two"), Map.of()));
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("GET /old HTTP/1.0\r\n\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.framing()).isNotEqualTo(RawResponse.Framing.CHUNKED);
            assertThat(r.bodyString()).isEqualTo("onetwo");
            c.awaitClosed(T);
        }
    }

    @Test
    void http10ClientAskingForKeepAliveKeepsItsConnection() {
        backend.handler(BackendHandlers.fixed(200, "sized"));
        try (RawHttpClient c = client()) {
            for (int i = 0; i < 2; i++) {
                RawResponse r = c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").readResponse(T);
                assertThat(r.bodyString()).isEqualTo("sized");
                assertThat(r.header("connection")).isEqualToIgnoringCase("keep-alive");
            }
        }
    }

    @Test
    void http10BackendBodyIsReframedAsChunkedForAnHttp11Client() {
        backend.handler(BackendHandlers.http10("from an old server"));
        try (RawHttpClient c = client()) {
            RawResponse r = c.send(get("/legacy")).readResponse(T);
            assertThat(r.bodyString()).isEqualTo("from an old server");
            assertThat(r.framing()).isEqualTo(RawResponse.Framing.CHUNKED);
            assertThat(c.send(get("/again")).readResponse(T).bodyString()).isEqualTo("from an old server");
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() {
        try (RawHttpClient c = client()) {
            c.send(get("/1") + "POST /2 HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc" + get("/3"));
            assertThat(c.readResponse(T).bodyString()).contains("\"uri\":\"/1\"");
            assertThat(c.readResponse(T).bodyString()).contains("\"method\":\"POST\"", "\"uri\":\"/2\"");
            assertThat(c.readResponse(T).bodyString()).contains("\"uri\":\"/3\"");
        }
        assertThat(backend.requests()).extracting(RecordedRequest::uri).containsExactly("/1", "/2", "/3");
    }

    @Test
    void hopByHopHeadersAreNotForwarded() {
        try (RawHttpClient c = client()) {
            c.send("GET / HTTP/1.1\r\nHost: test\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
                    + "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Connection: keep-alive\r\n"
                    + "X-Kept: yes\r\n\r\n").readResponse(T);
        }
        RecordedRequest seen = backend.lastRequest();
        for (String name : List.of("connection", "x-secret", "keep-alive", "te", "upgrade", "proxy-connection")) {
            assertThat(seen.header(name)).as(name).isNull();
        }
        assertThat(seen.header("x-kept")).isEqualTo("yes");
        assertThat(seen.header("via")).isEqualTo("1.1 sluice");
    }

    @Test
    void hopByHopFieldsOfAResponseAreNotForwardedAndViaIsAppended() {
        HttpHeaders fields = new DefaultHttpHeaders().add("X-First", "1").add("Connection", "keep-alive")
                .add("Keep-Alive", "timeout=30").add("Proxy-Connection", "x").add("Upgrade", "h2c")
                .add("Via", "1.0 cdn").add("X-Last", "2");
        backend.handler(BackendHandlers.fixed(200, fields, "sized".getBytes(StandardCharsets.US_ASCII)));
        try (RawHttpClient c = client()) {
            for (String request : List.of(get("/1"), get("/2"), "GET /3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                    "GET /4 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")) {
                RawResponse r = c.send(request).readResponse(T);
                assertThat(r.bodyString()).isEqualTo("sized");
                for (String name : List.of("keep-alive", "proxy-connection", "upgrade")) {
                    assertThat(r.header(name)).as(name).isNull();
                }
                assertThat(r.headerValues("via")).containsExactly("1.0 cdn", "1.1 sluice");
                assertThat(r.headers()).extracting(Map.Entry::getKey).map(String::toLowerCase)
                        .containsSubsequence("x-first", "via", "x-last");
                if (request.contains("/3")) {
                    assertThat(r.header("connection")).isEqualToIgnoringCase("keep-alive");
                } else if (request.contains("/4")) {
                    assertThat(r.connectionClose()).isTrue();
                } else {
                    assertThat(r.header("connection")).isNull();
                }
            }
            c.awaitClosed(T);
        }
    }

    @Test
    void aResponseToHeadAndA304GoOutBodilessWithTheirFieldsAndTheConnectionCarriesOn() {
        HttpHeaders fields = new DefaultHttpHeaders().add("Connection", "keep-alive").add("X-Kept", "yes");
        backend.handler(BackendHandlers.sequence(BackendHandlers.fixed(200, fields, "sized".getBytes(StandardCharsets.US_ASCII)),
                BackendHandlers.notModified("\"v1\""), BackendHandlers.fixed(200, "after")));
        try (RawHttpClient c = client()) {
            RawResponse head = c.send("HEAD /h HTTP/1.1\r\nHost: test\r\n\r\n").readResponse(T, "HEAD");
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("content-length")).isEqualTo("5");
            assertThat(head.header("x-kept")).isEqualTo("yes");
            assertThat(head.header("connection")).isNull();
            assertThat(head.headerValues("via")).containsExactly("1.1 sluice");
            RawResponse notModified = c.send(get("/n")).readResponse(T);
            assertThat(notModified.status()).isEqualTo(304);
            assertThat(notModified.header("etag")).isEqualTo("\"v1\"");
            assertThat(notModified.bodyString()).isEmpty();
            assertThat(c.send(get("/a")).readResponse(T).bodyString()).isEqualTo("after");
        }
    }

    /**
     * The common request goes out from its bytes (ReceivedRequest); the same request routed by a
     * header gets its map made and edited instead. The backend must see the same fields either
     * way: none of the hop-by-hop ones, all the others, and Sluice's own.
     */
    @Test
    void aRequestForwardedFromItsBytesReachesTheBackendAsItsEditedMapWould() throws Exception {
        String yaml = """
                listeners: [ { address: "127.0.0.1:0" } ]
                routes:
                  - { name: bytes, match: { path_prefix: /bytes }, cluster: app }
                  - { name: mapped, match: { path_prefix: /mapped, headers: { x-map: "1" } }, cluster: app }
                clusters: [ { name: app, endpoints: [ "%s" ] } ]
                """.formatted(backend.authority());
        String fields = "Host: Shop.Example:8080\r\nX-First: 1\r\nx-map: 1\r\nConnection: keep-alive, Keep-Alive\r\n"
                + "Keep-Alive: 300\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nVia: 1.0 client-proxy\r\n"
                + "Idempotency-Key: k1\r\nX-Latin: caf\u00e9\r\nX-Empty:\r\nX-Last:  2 \r\n\r\n";
        List<Map<String, String>> seen = new java.util.ArrayList<>();
        try (TestGateway gw = TestGateway.fromYaml(yaml); RawHttpClient c = RawHttpClient.connect(gw.address())) {
            for (String path : List.of("/bytes/x?q=1", "/mapped/x?q=1")) {
                assertThat(c.send("GET " + path + " HTTP/1.1\r\n" + fields).readResponse(T).status()).isEqualTo(200);
                RecordedRequest r = backend.lastRequest();
                assertThat(r.version()).isEqualTo("HTTP/1.1");
                assertThat(r.uri()).isEqualTo(path);
                // The one visible difference: from its bytes, Sluice's Via is a line of its own; the map joins them.
                assertThat(r.headerValues("via")).hasSize(path.startsWith("/bytes") ? 2 : 1);
                Map<String, String> joined = new java.util.TreeMap<>();
                r.headers().forEach(f -> joined.merge(f.getKey().toLowerCase(), f.getValue(), (a, b) -> a + ", " + b));
                assertThat(joined.remove("x-request-id")).matches("[0-9a-f]{32}");
                assertThat(joined.remove("traceparent")).as("a trace started, either way")
                        .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
                seen.add(joined);
            }
            Await.until(T, () -> gw.accessLogLines().size() == 2, "two access log lines");
            assertThat(gw.accessLogLines()).anySatisfy(l -> assertThat(l).contains("\"route\":\"bytes\""))
                    .anySatisfy(l -> assertThat(l).contains("\"route\":\"mapped\""));
        }
        assertThat(seen.get(0)).containsOnlyKeys("host", "x-first", "x-map", "via", "idempotency-key", "x-latin", "x-empty",
                "x-last", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host");
        assertThat(seen.get(0)).containsEntry("via", "1.0 client-proxy, 1.1 sluice").containsEntry("x-latin", "caf\u00e9")
                .containsEntry("x-forwarded-host", "Shop.Example:8080").containsEntry("x-forwarded-for", "127.0.0.1")
                .containsEntry("x-forwarded-proto", "http").containsEntry("x-last", "2").containsEntry("x-empty", "");
        assertThat(seen.get(1)).isEqualTo(seen.get(0));
    }

    @Test
    void anHttp10RequestWithoutHostIsForwardedAsHttp11WithTheEndpointAsHost() {
        try (RawHttpClient c = client()) {
            assertThat(c.send("GET /old HTTP/1.0\r\nX-A: 1\r\n\r\n").readResponse(T).status()).isEqualTo(200);
        }
        RecordedRequest seen = backend.lastRequest();
        assertThat(seen.version()).isEqualTo("HTTP/1.1");
        // HTTP/1.1 requires a Host (RFC 9112 §3.2): the endpoint's authority, as health checks send.
        assertThat(seen.headerValues("host")).containsExactly(backend.authority());
        assertThat(seen.header("x-a")).isEqualTo("1");
        assertThat(seen.header("x-forwarded-host")).isNull();
        assertThat(seen.header("x-forwarded-for")).isEqualTo("127.0.0.1");
        assertThat(seen.header("via")).isEqualTo("1.1 sluice");
    }

    @Test
    void anAbsoluteFormTargetIsRoutedAndForwardedByItsAuthorityNotByHost() throws Exception {
        String yaml = """
                listeners: [ { address: "127.0.0.1:0" } ]
                routes:
                  - { name: public, match: { host: public.example }, cluster: app }
                  - { name: admin, match: { host: admin.internal }, cluster: app }
                clusters: [ { name: app, endpoints: [ "%s" ] } ]
                """.formatted(backend.authority());
        try (TestGateway gw = TestGateway.fromYaml(yaml); RawHttpClient c = RawHttpClient.connect(gw.address())) {
            RawResponse r = c.send("GET http://Admin.Internal:80/x?q=1 HTTP/1.1\r\nHost: public.example\r\n\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(200);
            RecordedRequest seen = backend.lastRequest();
            assertThat(seen.headerValues("host")).containsExactly("Admin.Internal:80");
            assertThat(seen.header("x-forwarded-host")).isEqualTo("Admin.Internal:80");
            Await.until(T, () -> !gw.accessLogLines().isEmpty(), "a log line");
            assertThat(gw.accessLogLines().get(0)).contains("\"route\":\"admin\"");
            for (String bad : List.of("GET http://user@admin.internal/ HTTP/1.1\r\nHost: admin.internal\r\n\r\n",
                    "GET http:///x HTTP/1.1\r\nHost: public.example\r\n\r\n")) {
                try (RawHttpClient other = RawHttpClient.connect(gw.address())) {
                    assertThat(other.send(bad).readResponse(T).status()).as(bad).isEqualTo(400);
                }
            }
        }
        assertThat(backend.requestCount()).isEqualTo(1);
    }

    @Test
    void forwardedHeadersFromAnUntrustedClientAreReplaced() {
        try (RawHttpClient c = client()) {
            c.send("GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n\r\n")
                    .readResponse(T);
        }
        RecordedRequest seen = backend.lastRequest();
        assertThat(seen.header("x-forwarded-for")).isEqualTo("127.0.0.1");
        assertThat(seen.header("x-forwarded-proto")).isEqualTo("http");
        assertThat(seen.header("x-forwarded-host")).isEqualTo("shop.example");
    }

    @Test
    void forwardedHeadersFromATrustedProxyAreExtended() throws Exception {
        try (TestGateway trusting = TestGateway.start(TestGateway.config(
                l -> withTrusted(l, List.of("127.0.0.0/8")), UnaryOperator.identity(), backend.address()));
             RawHttpClient c = RawHttpClient.connect(trusting.address())) {
            c.send("GET / HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n\r\n")
                    .readResponse(T);
        }
        RecordedRequest seen = backend.lastRequest();
        assertThat(seen.header("x-forwarded-for")).isEqualTo("203.0.113.7, 127.0.0.1");
        assertThat(seen.header("x-forwarded-proto")).isEqualTo("https");
    }

    static ListenerConfig withTrusted(ListenerConfig l, List<String> cidrs) {
        return new ListenerConfig(l.name(), l.address(), l.idleTimeout(), l.headerTimeout(), l.maxRequestLine(),
                l.maxHeaderSize(), l.maxHeaders(), cidrs);
    }

    @Test
    void requestIdIsKeptWhenGivenAndMadeWhenMissing() {
        try (RawHttpClient c = client()) {
            c.send("GET /a HTTP/1.1\r\nHost: test\r\nX-Request-Id: abc-123\r\n\r\n").readResponse(T);
            c.send(get("/b")).readResponse(T);
        }
        List<RecordedRequest> seen = backend.awaitRequests(2, T);
        assertThat(seen.get(0).header("x-request-id")).isEqualTo("abc-123");
        assertThat(seen.get(1).header("x-request-id")).matches("[0-9a-f]{32}");
        Await.until(T, () -> gateway.accessLogLines().size() == 2, "two access-log lines");
        assertThat(gateway.accessLogLines().get(0)).contains("\"request_id\":\"abc-123\"");
    }

    @Test
    void accessLogLineNamesRouteClusterEndpointAndTimings() {
        try (RawHttpClient c = client()) {
            c.send(get("/logged?q=1")).readResponse(T);
        }
        Await.until(T, () -> !gateway.accessLogLines().isEmpty(), "an access-log line");
        String line = gateway.accessLogLines().get(0);
        assertThat(line).startsWith("{").endsWith("}")
                .contains("\"method\":\"GET\"", "\"path\":\"/logged?q=1\"", "\"route\":\"all\"", "\"cluster\":\"app\"",
                        "\"endpoint\":\"127.0.0.1:" + backend.port() + "\"", "\"status\":200", "\"upstream_status\":200",
                        "\"failure\":null", "\"duration_ms\":", "\"upstream_ms\":", "\"bytes_out\":");
    }

    @Test
    void backendResponsesNeverCarryTheSluiceErrorHeader() {
        backend.handler(BackendHandlers.fixed(502, "the app's own 502"));
        try (RawHttpClient c = client()) {
            RawResponse r = c.send(get("/")).readResponse(T);
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("x-sluice-error")).isNull();
            assertThat(r.bodyString()).isEqualTo("the app's own 502");
        }
    }
}
