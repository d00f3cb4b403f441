package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Sluice;
import dev.sluice.testing.CheckCommand;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendExchange;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.Ports;
import dev.sluice.testing.PseudoRandomBody;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.TestBackend;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A route's {@code forward_auth} on real sockets: what the auth service is asked, what the backend
 * then gets, what the client gets when the service says no, is down or is slow, and that the
 * request body waits for the service's yes.
 */
class ForwardAuthTest {
    private static final Duration T = Duration.ofSeconds(10);

    static String yaml(String backend, String auth, int deadPort) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: app
                    match: { path_prefix: /app/ }
                    cluster: app
                    forward_auth:
                      cluster: auth
                      path: /check
                      request_headers: [Authorization, Cookie]
                      response_headers: [X-User]
                  - name: all
                    match: { path_prefix: /all/ }
                    cluster: app
                    forward_auth: { url: "http://%s/verify?from=sluice", response_headers: [X-User, X-Email] }
                  - name: quick
                    match: { path_prefix: /quick/ }
                    cluster: app
                    forward_auth: { cluster: auth, path: /check, timeout: 200ms }
                  - name: down
                    match: { path_prefix: /down/ }
                    cluster: app
                    forward_auth: { url: "http://127.0.0.1:%d/check" }
                  - name: guarded
                    match: { path_prefix: /guarded/ }
                    cluster: app
                    deny_ips: [127.0.0.1]
                    forward_auth: { cluster: auth, path: /check }
                  - name: browser
                    match: { path_prefix: /browser/ }
                    cluster: app
                    cors: { origins: [https://app.example], credentials: true }
                    forward_auth: { cluster: auth, path: /check }
                clusters:
                  - name: app
                    endpoints: [%s]
                    concurrency: { limit: off }
                  - name: auth
                    endpoints: [%s]
                """.formatted(auth, deadPort, backend, auth);
    }

    private static TestBackend backend;
    private static TestBackend auth;
    private static TestGateway gateway;
    /** Checks the auth service holds unanswered until a test answers them. */
    private static final BlockingQueue<BackendExchange> held = new LinkedBlockingQueue<>();

    /** The auth service decides by the path the client asked for, which the check carries in X-Forwarded-Uri. */
    private static void decide(BackendExchange check) {
        String uri = check.header("x-forwarded-uri");
        HttpHeaders h = new DefaultHttpHeaders();
        if (uri.contains("/ok")) {
            h.add("X-User", "alice").add("X-Email", "alice@example.com").add("X-Other", "not copied");
            check.respond(200, h, "fine".getBytes(StandardCharsets.UTF_8));
        } else if (uri.contains("/who")) {
            h.add("WWW-Authenticate", "Bearer realm=\"shop\"").add("Content-Type", "application/json");
            check.respond(401, h, "{\"error\":\"who are you?\"}".getBytes(StandardCharsets.UTF_8));
        } else if (uri.contains("/login")) {
            h.add("Location", "https://login.example/?rd=" + uri).add("Set-Cookie", "csrf=1");
            check.respond(302, h, new byte[0]);
        } else if (uri.contains("/huge")) {
            check.respond(401, h, new byte[70 * 1024]);
        } else if (uri.contains("/broken")) {
            check.respond(500, "stack trace of the auth service");
        } else if (uri.contains("/hold") || uri.contains("/slow")) {
            held.add(check);
        } else {
            check.respond(403, "no");
        }
    }

    @BeforeAll
    static void start() throws Exception {
        backend = TestBackend.start(BackendHandlers.echo());
        auth = TestBackend.start(ForwardAuthTest::decide);
        gateway = TestGateway.fromYaml(yaml(backend.authority(), auth.authority(), Ports.freeLoopbackPort()));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        auth.close();
        backend.close();
    }

    @BeforeEach
    void forget() {
        backend.clearRequests();
        auth.clearRequests();
        held.clear();
    }

    private static RawHttpClient client() {
        return RawHttpClient.connect(gateway.address());
    }

    private static String logLineOf(String path) {
        return Await.value(T, () -> gateway.accessLogLines().stream().filter(l -> l.contains("\"" + path))
                .findFirst().orElse(null), l -> l != null, "the access-log line of " + path);
    }

    @Test
    void theConfigIsAcceptedByCheck(@TempDir Path dir) throws Exception {
        CheckCommand.passes(dir, yaml("127.0.0.1:9001", "127.0.0.1:9002", 9003)).says("1 listeners, 6 routes, 2 clusters");
    }

    @Test
    void anAdmittedRequestCarriesTheServicesFieldsAndTheServiceSeesTheClientsOnly() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("GET /app/ok?q=1 HTTP/1.1\r\nHost: shop.example\r\nAuthorization: Bearer t0k\r\n"
                    + "Cookie: s=1\r\nAccept: text/html\r\nX-User: mallory\r\n\r\n").readResponse(T);

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("x-sluice-error")).isNull();
            RecordedRequest check = auth.lastRequest();
            assertThat(check.method()).isEqualTo("GET");
            assertThat(check.uri()).isEqualTo("/check");
            assertThat(check.header("host")).isEqualTo(auth.authority());
            assertThat(check.header("authorization")).isEqualTo("Bearer t0k");
            assertThat(check.header("cookie")).isEqualTo("s=1");
            assertThat(check.header("accept")).as("only request_headers are copied").isNull();
            assertThat(check.header("x-user")).isNull();
            assertThat(check.header("x-forwarded-method")).isEqualTo("GET");
            assertThat(check.header("x-forwarded-uri")).isEqualTo("/app/ok?q=1");
            assertThat(check.header("x-forwarded-host")).isEqualTo("shop.example");
            assertThat(check.header("x-forwarded-proto")).isEqualTo("http");
            assertThat(check.header("x-forwarded-for")).isEqualTo("127.0.0.1");
            assertThat(check.header("x-request-id")).hasSize(32);

            RecordedRequest forwarded = backend.lastRequest();
            assertThat(forwarded.uri()).isEqualTo("/app/ok?q=1");
            assertThat(forwarded.headerValues("x-user")).as("the client's own X-User is gone").containsExactly("alice");
            assertThat(forwarded.header("x-email")).as("not in response_headers").isNull();
            assertThat(forwarded.header("x-request-id")).isEqualTo(check.header("x-request-id"));
            assertThat(forwarded.header("authorization")).isEqualTo("Bearer t0k");
        }
    }

    @Test
    void withoutRequestHeadersTheCheckGetsEveryEndToEndFieldAndTheUrlsTarget() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("GET /all/ok HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\n"
                    + "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nCookie: s=2\r\n\r\n").readResponse(T);

            assertThat(r.status()).isEqualTo(200);
            RecordedRequest check = auth.lastRequest();
            assertThat(check.uri()).isEqualTo("/verify?from=sluice");
            assertThat(check.header("host")).isEqualTo(auth.authority());
            assertThat(check.header("accept")).isEqualTo("text/html");
            assertThat(check.header("cookie")).isEqualTo("s=2");
            assertThat(check.header("x-hop")).as("named by Connection: hop-by-hop").isNull();
            assertThat(check.header("connection")).isNull();
            RecordedRequest forwarded = backend.lastRequest();
            assertThat(forwarded.header("x-user")).isEqualTo("alice");
            assertThat(forwarded.header("x-email")).isEqualTo("alice@example.com");
        }
    }

    @Test
    void a401GoesToTheClientAsItCameWithItsChallengeAndBody() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("GET /app/who HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T);

            assertThat(r.status()).isEqualTo(401);
            assertThat(r.header("www-authenticate")).isEqualTo("Bearer realm=\"shop\"");
            assertThat(r.header("content-type")).isEqualTo("application/json");
            assertThat(r.bodyString()).isEqualTo("{\"error\":\"who are you?\"}");
            assertThat(r.header("x-sluice-error")).isEqualTo("unauthenticated");
            assertThat(r.connectionClose()).as("a bodyless request keeps its connection").isFalse();
            assertThat(backend.requestCount()).isZero();

            assertThat(c.send("GET /app/forbidden HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T))
                    .satisfies(again -> assertThat(again.status()).isEqualTo(403))
                    .satisfies(again -> assertThat(again.header("x-sluice-error")).isEqualTo("access_denied"));
        }
        assertThat(logLineOf("/app/who")).contains("\"status\":401", "\"failure\":\"unauthenticated\"",
                "\"route\":\"app\"", "\"endpoint\":null");
        assertThat(logLineOf("/app/forbidden")).contains("\"status\":403", "\"failure\":\"access_denied\"");
        assertThat(dev.sluice.testing.PrometheusText.parse(gateway.gateway().metrics().scrape())
                .value("sluice_failures_total", "route", "app", "cluster", "app", "kind", "unauthenticated")).isPositive();
    }

    @Test
    void theAccessRulesComeFirstAndTheirFieldsGoOnTheServicesDenial() {
        try (RawHttpClient c = client()) {
            RawResponse refused = c.send("GET /guarded/ok HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T);
            assertThat(refused.status()).isEqualTo(403);
            assertThat(refused.header("x-sluice-error")).isEqualTo("access_denied");
            assertThat(auth.requestCount()).as("a client the access rules refuse is not asked about").isZero();

            RawResponse denied = c.send("GET /browser/who HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n")
                    .readResponse(T);
            assertThat(denied.status()).isEqualTo(401);
            assertThat(denied.header("www-authenticate")).isEqualTo("Bearer realm=\"shop\"");
            assertThat(denied.header("access-control-allow-origin")).as("the page's script may read the 401")
                    .isEqualTo("https://app.example");
            assertThat(denied.header("access-control-allow-credentials")).isEqualTo("true");
        }
        assertThat(backend.requestCount()).isZero();
    }

    @Test
    void aRedirectToTheLoginPageIsPassedThrough() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("GET /app/login/page HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T);

            assertThat(r.status()).isEqualTo(302);
            assertThat(r.header("location")).isEqualTo("https://login.example/?rd=/app/login/page");
            assertThat(r.header("set-cookie")).isEqualTo("csrf=1");
            assertThat(r.header("content-length")).isEqualTo("0");
            assertThat(r.header("x-sluice-error")).isEqualTo("auth_denied");
            assertThat(backend.requestCount()).isZero();
        }
        assertThat(logLineOf("/app/login/page")).contains("\"status\":302", "\"failure\":\"auth_denied\"");
    }

    @Test
    void anAuthServiceThatIsDownOrBrokenGivesA503AndTheBackendNeverSeesTheRequest() {
        try (RawHttpClient c = client()) {
            RawResponse down = c.send("GET /down/x HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T);
            assertThat(down.status()).isEqualTo(503);
            assertThat(down.header("x-sluice-error")).isEqualTo("auth_unavailable");

            RawResponse broken = c.send("GET /app/broken HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T);
            assertThat(broken.status()).isEqualTo(503);
            assertThat(broken.header("x-sluice-error")).isEqualTo("auth_unavailable");
            assertThat(broken.bodyString()).as("Sluice's reply, not the service's error page")
                    .startsWith("auth_unavailable: ").doesNotContain("stack trace");

            RawResponse huge = c.send("GET /app/huge HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T);
            assertThat(huge.status()).as("a denial over 64 KiB is not passed on").isEqualTo(503);
            assertThat(huge.header("x-sluice-error")).isEqualTo("auth_unavailable");
        }
        assertThat(backend.requestCount()).isZero();
        assertThat(logLineOf("/down/x")).contains("\"status\":503", "\"failure\":\"auth_unavailable\"");
    }

    @Test
    void anAuthServiceSlowerThanTheTimeoutGivesA504() throws Exception {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("GET /quick/slow HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T);

            assertThat(r.status()).isEqualTo(504);
            assertThat(r.header("x-sluice-error")).isEqualTo("auth_timeout");
            BackendExchange late = held.poll(10, TimeUnit.SECONDS);
            assertThat(late).as("the check reached the service").isNotNull();
            late.respond(200, "too late");
            // The connection is usable for the next request; the late yes changed nothing.
            assertThat(c.send("GET /quick/ok HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T).status()).isEqualTo(200);
        }
        assertThat(backend.requests()).extracting(RecordedRequest::uri).containsExactly("/quick/ok");
        assertThat(logLineOf("/quick/slow")).contains("\"status\":504", "\"failure\":\"auth_timeout\"");
    }

    @Test
    void theBodyWaitsForTheServicesYesThenGoesOnIntact() throws Exception {
        long backendBytes = backend.bytesReceived();
        try (RawHttpClient c = client()) {
            c.send("POST /app/hold HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\n01234");
            BackendExchange check = held.poll(10, TimeUnit.SECONDS);
            assertThat(check).as("the check went out").isNotNull();

            assertThat(check.method()).isEqualTo("GET");
            assertThat(check.header("x-forwarded-method")).isEqualTo("POST");
            assertThat(check.header("content-length")).as("no body goes to the service").isNull();
            assertThat(check.request().bodyLength()).isZero();
            assertThat(backend.bytesReceived()).as("nothing reached the backend before the yes").isEqualTo(backendBytes);

            HttpHeaders yes = new DefaultHttpHeaders().add("X-User", "bob");
            check.respond(204, yes, new byte[0]);
            c.send("56789");
            RawResponse r = c.readResponse(T);

            assertThat(r.status()).isEqualTo(200);
            RecordedRequest forwarded = backend.lastRequest();
            assertThat(forwarded.method()).isEqualTo("POST");
            assertThat(forwarded.bodyString()).isEqualTo("0123456789");
            assertThat(forwarded.header("x-user")).isEqualTo("bob");
        }
    }

    @Test
    void aLargePostIsForwardedWholeOnceAdmitted() {
        byte[] body = PseudoRandomBody.bytes(300_000);
        try (RawHttpClient c = client()) {
            c.send(("PUT /app/ok/upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            c.send(body);
            RawResponse r = c.readResponse(T);

            assertThat(r.status()).isEqualTo(200);
            RecordedRequest forwarded = backend.lastRequest();
            assertThat(forwarded.bodyLength()).isEqualTo(body.length);
            assertThat(forwarded.bodySha256()).isEqualTo(PseudoRandomBody.sha256(body.length));
            assertThat(forwarded.header("x-user")).isEqualTo("alice");
        }
    }

    @Test
    void aDeniedPostIsAnsweredWithoutReadingItsBodyAndTheConnectionCloses() {
        try (RawHttpClient c = client()) {
            RawResponse r = c.send("POST /app/who HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nabc")
                    .readResponse(T);

            assertThat(r.status()).isEqualTo(401);
            assertThat(r.bodyString()).isEqualTo("{\"error\":\"who are you?\"}");
            assertThat(r.connectionClose()).as("the unread body leaves the connection mid-request").isTrue();
            assertThat(backend.requestCount()).isZero();
        }
    }

    @Test
    void aClientThatLeavesDuringTheCheckClosesIt() throws Exception {
        int before = auth.openConnections();
        RawHttpClient c = client();
        c.send("GET /app/hold HTTP/1.1\r\nHost: t\r\n\r\n");
        BackendExchange check = held.poll(10, TimeUnit.SECONDS);
        assertThat(check).isNotNull();
        int during = auth.openConnections();
        c.close();

        Await.until(T, () -> auth.openConnections() < during, "the check's connection closed");
        assertThat(auth.openConnections()).isLessThanOrEqualTo(before);
        assertThat(backend.requestCount()).isZero();
    }
}
