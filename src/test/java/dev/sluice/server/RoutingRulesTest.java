package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.CheckCommand;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.TestBackend;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A route's rewriting and answering on real sockets: what the backend receives and what the client
 * gets, for path rewrites, the upstream Host, header rules both ways, redirects, fixed responses,
 * body limits and 405.
 */
class RoutingRulesTest {
    private static final Duration T = Duration.ofSeconds(10);

    /** Every feature of the routing rules in one file: also what {@code bin/sluice check} must accept. */
    static String yaml(String backend) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: robots
                    match: { path: /robots.txt }
                    respond: { status: 200, body: "User-agent: *\\nDisallow:\\n", content_type: text/plain }
                  - name: old
                    match: { path_prefix: /old/ }
                    redirect: { to: "https://example.com${uri}", status: 301 }
                  - name: moved
                    match: { path_prefix: /moved }
                    redirect: { to: "/here${path}" }
                    response_headers:
                      set: { cache-control: no-store }
                  - name: users
                    match: { path_prefix: /u/ }
                    cluster: app
                    rewrite: { regex: "^/u/(\\\\d+)$", replace: "/users/\\\\1" }
                  - name: api
                    match: { path_prefix: /api/ }
                    cluster: app
                    strip_prefix: true
                    host: endpoint
                  - name: v1
                    match: { path_prefix: /v1/ }
                    cluster: app
                    rewrite: { prefix: /v2/ }
                    host: internal.example
                    request_headers:
                      set: { x-route: "${route}", x-client: "${client}", x-seen-host: "${host}" }
                      add: { x-tag: b }
                      remove: [cookie]
                    response_headers:
                      set: { x-served-by: "sluice ${route} ${request_id}" }
                      remove: [content-type]
                  - name: writes
                    match: { path_prefix: /items, methods: [POST, PUT] }
                    cluster: app
                    max_body: 16
                  - name: reads
                    match: { path_prefix: /items, methods: [GET] }
                    cluster: app
                  - name: plain
                    match: { path: /plain }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                    concurrency: { limit: off }
                """.formatted(backend);
    }

    private static TestBackend backend;
    private static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        backend = TestBackend.start(BackendHandlers.echo());
        gateway = TestGateway.fromYaml(yaml(backend.authority()));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        backend.close();
    }

    @BeforeEach
    void forget() {
        backend.clearRequests();
    }

    private static RawHttpClient client() {
        return RawHttpClient.connect(gateway.address());
    }

    private static RawResponse get(RawHttpClient c, String target, String... fields) {
        StringBuilder request = new StringBuilder("GET " + target + " HTTP/1.1\r\nHost: Shop.Example:8080\r\n");
        for (String field : fields) {
            request.append(field).append("\r\n");
        }
        return c.send(request.append("\r\n").toString()).readResponse(T);
    }

    @Test
    void theConfigUsingEveryRuleIsAcceptedByCheck(@TempDir Path dir) throws Exception {
        CheckCommand.passes(dir, yaml("127.0.0.1:9001")).says("1 listeners, 9 routes, 1 clusters");
    }

    @Test
    void aMethodNoRouteTakesGets405WithAllowAndTheConnectionStaysOpen() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("DELETE /items/3 HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(405);
            assertThat(r.header("allow")).as("GET brings HEAD").isEqualTo("POST, PUT, GET, HEAD");
            assertThat(r.header("x-sluice-error")).isEqualTo("method_not_allowed");
            assertThat(r.bodyString()).startsWith("method_not_allowed: ");
            assertThat(r.connectionClose()).isFalse();
            assertThat(get(c, "/items/3").status()).isEqualTo(200);
            assertThat(c.send("HEAD /items/3 HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T, "HEAD").status())
                    .as("a GET route takes HEAD").isEqualTo(200);
            // A path no route takes, by any method, is still 404.
            assertThat(get(c, "/nowhere").status()).isEqualTo(404);
        }
        assertThat(backend.requests()).extracting(RecordedRequest::method).containsExactly("GET", "HEAD");
    }

    @Test
    void stripPrefixRemovesTheMatchedPrefixKeepsTheQueryAndSendsTheEndpointsHost() {
        try (RawHttpClient c = client()) {
            assertThat(get(c, "/api/orders?id=7&x=%20").status()).isEqualTo(200);
            assertThat(get(c, "/api/").status()).isEqualTo(200);
        }
        var seen = backend.awaitRequests(2, T);
        assertThat(seen.get(0).uri()).isEqualTo("/orders?id=7&x=%20");
        assertThat(seen.get(0).header("host")).isEqualTo(backend.authority());
        assertThat(seen.get(0).header("x-forwarded-host")).isEqualTo("Shop.Example:8080");
        assertThat(seen.get(1).uri()).isEqualTo("/");
    }

    @Test
    void aRegexRewriteFillsInItsCaptureGroupsAndLeavesOtherPathsAlone() {
        try (RawHttpClient c = client()) {
            assertThat(get(c, "/u/42?full=1").status()).isEqualTo(200);
            assertThat(get(c, "/u/me").status()).isEqualTo(200);
        }
        var seen = backend.awaitRequests(2, T);
        assertThat(seen.get(0).uri()).isEqualTo("/users/42?full=1");
        assertThat(seen.get(1).uri()).isEqualTo("/u/me");
        // The client's Host by default.
        assertThat(seen.get(0).header("host")).isEqualTo("Shop.Example:8080");
    }

    @Test
    void headerRulesEditTheRequestAndTheResponseWithVariables() {
        RawResponse r;
        try (RawHttpClient c = client()) {
            r = get(c, "/v1/cart", "Cookie: session=1", "X-Tag: a", "X-Route: forged");
        }
        assertThat(r.status()).isEqualTo(200);
        RecordedRequest seen = backend.awaitRequests(1, T).get(0);
        assertThat(seen.uri()).isEqualTo("/v2/cart");
        assertThat(seen.header("host")).isEqualTo("internal.example");
        assertThat(seen.header("x-forwarded-host")).isEqualTo("Shop.Example:8080");
        assertThat(seen.header("cookie")).isNull();
        assertThat(seen.headerValues("x-tag")).containsExactly("a", "b");
        assertThat(seen.headerValues("x-route")).containsExactly("v1");
        assertThat(seen.header("x-client")).isEqualTo("127.0.0.1");
        assertThat(seen.header("x-seen-host")).isEqualTo("shop.example");
        assertThat(seen.header("via")).isEqualTo("1.1 sluice");
        assertThat(r.header("x-served-by")).isEqualTo("sluice v1 " + seen.header("x-request-id"));
        assertThat(r.header("content-type")).isNull();
        assertThat(r.header("via")).isEqualTo("1.1 sluice");
    }

    @Test
    void aRouteWithoutRulesForwardsTheRequestAsItCame() {
        try (RawHttpClient c = client()) {
            assertThat(get(c, "/plain?q=1", "Cookie: a=b").status()).isEqualTo(200);
        }
        RecordedRequest seen = backend.awaitRequests(1, T).get(0);
        assertThat(seen.uri()).isEqualTo("/plain?q=1");
        assertThat(seen.header("host")).isEqualTo("Shop.Example:8080");
        assertThat(seen.header("cookie")).isEqualTo("a=b");
    }

    @Test
    void redirectsAnswerWithTheirStatusAndTargetWithoutTheBackend() {
        try (RawHttpClient c = client()) {
            RawResponse permanent = get(c, "/old/page?a=1");
            assertThat(permanent.status()).isEqualTo(301);
            assertThat(permanent.header("location")).isEqualTo("https://example.com/old/page?a=1");
            assertThat(permanent.header("content-length")).isEqualTo("0");
            assertThat(permanent.header("x-sluice-error")).isNull();
            assertThat(permanent.connectionClose()).isFalse();
            RawResponse temporary = get(c, "/moved/x?b=2");
            assertThat(temporary.status()).isEqualTo(302);
            assertThat(temporary.header("location")).isEqualTo("/here/moved/x");
            assertThat(temporary.header("cache-control")).isEqualTo("no-store");
            // A body is read and dropped, and the connection still serves the next request.
            RawResponse posted = c.send("POST /moved HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
                    .readResponse(T);
            assertThat(posted.status()).isEqualTo(302);
            assertThat(get(c, "/plain").status()).isEqualTo(200);
        }
        assertThat(backend.awaitRequests(1, T)).extracting(RecordedRequest::uri).containsExactly("/plain");
    }

    @Test
    void aFixedResponseIsServedBySluice() {
        try (RawHttpClient c = client()) {
            RawResponse r = get(c, "/robots.txt");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.bodyString()).isEqualTo("User-agent: *\nDisallow:\n");
            assertThat(r.header("content-type")).isEqualTo("text/plain");
            assertThat(r.connectionClose()).isFalse();
            RawResponse head = c.send("HEAD /robots.txt HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T, "HEAD");
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.body()).isEmpty();
        }
        assertThat(backend.requestCount()).isZero();
        Await.until(T, () -> gateway.accessLogLines().stream().anyMatch(l -> l.contains("\"route\":\"robots\"")),
                "the fixed response's access log line");
    }

    @Test
    void aBodyOverTheRoutesLimitBy_ContentLengthIsRefusedBeforeAnythingIsForwarded() {
        try (RawHttpClient c = client()) {
            RawResponse ok = c.send("POST /items HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\n0123456789abcdef")
                    .readResponse(T);
            assertThat(ok.status()).isEqualTo(200);
            RawResponse r = c.send("POST /items HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n0123456789abcdefg")
                    .readResponse(T);
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.header("x-sluice-error")).isEqualTo("request_too_large");
            assertThat(r.bodyString()).startsWith("request_too_large: ").contains("route: writes");
        }
        assertThat(backend.awaitRequests(1, T)).extracting(RecordedRequest::bodyLength).containsExactly(16L);
    }

    @Test
    void aListenersBodyLimitHoldsForRoutesWithoutTheirOwn() throws Exception {
        try (TestGateway small = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    max_body: 8
                routes:
                  - match: { path_prefix: /upload }
                    cluster: app
                    max_body: 1KiB
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                    concurrency: { limit: off }
                """.formatted(backend.authority()));
             RawHttpClient c = RawHttpClient.connect(small.address())) {
            assertThat(c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\n\r\nhello world!")
                    .readResponse(T).status()).isEqualTo(200);
            RawResponse r = c.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\n123456789")
                    .readResponse(T);
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.header("x-sluice-error")).isEqualTo("request_too_large");
        }
        assertThat(backend.awaitRequests(1, T)).extracting(RecordedRequest::uri).containsExactly("/upload");
    }

    @Test
    void aChunkedBodyIsCutWhereItCrossesTheLimit() throws Exception {
        // A backend of its own: the half request it may get is recorded whenever its connection closes.
        try (TestBackend own = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(yaml(own.authority()));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            RawResponse r = c.send("PUT /items HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "10\r\n0123456789abcdef\r\n").send("5\r\nxxxxx\r\n0\r\n\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.header("x-sluice-error")).isEqualTo("request_too_large");
            assertThat(r.connectionClose()).isTrue();
            // Whatever the endpoint got of it, it never got a whole request.
            assertThat(own.requests()).noneMatch(RecordedRequest::complete);
        }
    }
}
