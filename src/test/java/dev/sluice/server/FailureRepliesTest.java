package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendExchange;
import dev.sluice.testing.BackendHandler;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.FaultRelay;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every failure Sluice reports is one taxonomy kind, with its status, header and log entry. */
class FailureRepliesTest {
    private static final Duration T = Duration.ofSeconds(10);

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    }

    private static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: test\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    /** A loopback port that nothing listens on. */
    private static InetSocketAddress closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
    }

    private static String yaml(String routes, String clusters) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                    header_timeout: 300ms
                    body_timeout: 300ms
                routes:
                %s
                clusters:
                %s
                """.formatted(routes.indent(2), clusters.indent(2));
    }

    /** One catch-all route (with {@code routeExtra} keys) to a cluster of one endpoint. */
    private static String catchAll(String endpoint, String routeExtra) {
        return yaml("- match: { path_prefix: / }\n  cluster: app\n" + (routeExtra.isEmpty() ? "" : "  " + routeExtra + "\n"),
                "- name: app\n  endpoints: [" + endpoint + "]\n");
    }

    /** One route, {@code /api/}, to {@code backend}: every other path is a local 404. */
    private static TestGateway apiRouteOnly(TestBackend backend) throws Exception {
        return TestGateway.fromYaml(yaml("""
                - match: { path_prefix: /api/ }
                  cluster: app""", """
                - name: app
                  endpoints: [%s]""".formatted(backend.authority())));
    }

    @Test
    void unmatchedRequestGets404NoRouteAndTheConnectionStaysOpen() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = apiRouteOnly(backend);
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            RawResponse r = c.send(get("/elsewhere")).readResponse(T);
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.header("x-sluice-error")).isEqualTo("no_route");
            assertThat(r.bodyString()).contains("no_route", "route: -", "request-id: ");
            assertThat(c.send(get("/api/x")).readResponse(T).status()).isEqualTo(200);
            Await.until(T, () -> gw.accessLogLines().size() == 2, "two log lines");
            assertThat(gw.accessLogLines().get(0)).contains("\"status\":404", "\"failure\":\"no_route\"");
        }
    }

    @Test
    void pipelinedRequestsAnsweredLocallyAndByTheBackendComeBackInOrder() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = apiRouteOnly(backend);
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            // Local replies written while the client's bytes are being read are flushed together
            // once the read is done: none may be left waiting for more input.
            c.send(get("/x") + get("/y"));
            assertThat(c.readResponse(T).status()).isEqualTo(404);
            assertThat(c.readResponse(T).status()).isEqualTo(404);

            // Local replies around a proxied request, all in one write: in order, each answered.
            c.send(get("/a") + get("/api/b") + get("/c") + get("/d"));

            assertThat(c.readResponse(T).status()).isEqualTo(404);
            RawResponse proxied = c.readResponse(T);
            assertThat(proxied.status()).isEqualTo(200);
            assertThat(proxied.bodyString()).contains("\"uri\":\"/api/b\"");
            assertThat(c.readResponse(T).status()).isEqualTo(404);
            assertThat(c.readResponse(T).header("x-sluice-error")).isEqualTo("no_route");
            assertThat(backend.requests()).hasSize(1);
        }
    }

    @Test
    void refusedConnectFailsOverToTheNextEndpointForAnyMethod() throws Exception {
        InetSocketAddress dead = closedPort();
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(yaml("""
                     - match: { path_prefix: / }
                       cluster: app""", """
                     - name: app
                       load_balancer: round_robin   # deterministic: the dead endpoint is tried first
                       endpoints: [127.0.0.1:%d, %s]""".formatted(dead.getPort(), backend.authority())));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            for (int i = 0; i < 4; i++) {
                RawResponse r = c.send(post("/order", "item=" + i)).readResponse(T);
                assertThat(r.status()).isEqualTo(200);
            }
            assertThat(backend.requestCount()).isEqualTo(4);
            Await.until(T, () -> gw.accessLogLines().size() == 4, "four log lines");
            assertThat(gw.accessLogLines()).anySatisfy(line -> assertThat(line)
                    .contains("\"failure\":\"connect_refused\"", "retried: unprocessed, next endpoint", "\"status\":200"));
        }
    }

    @Test
    void everyEndpointRefusingGives502ConnectRefused() throws Exception {
        InetSocketAddress dead = closedPort();
        try (TestGateway gw = TestGateway.fromYaml(yaml("""
                     - name: shop
                       match: { path_prefix: / }
                       cluster: app""", """
                     - name: app
                       endpoints: [127.0.0.1:%d]""".formatted(dead.getPort())));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            RawResponse r = c.send(get("/")).readResponse(T);
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("x-sluice-error")).isEqualTo("connect_refused");
            assertThat(r.bodyString()).contains("route: shop");
        }
    }

    @Test
    void silentBackendGives504ResponseTimeout() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.neverRespond());
             TestGateway gw = TestGateway.fromYaml(catchAll(backend.authority(), "timeout: 300ms"));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            RawResponse r = c.send(get("/slow")).readResponse(T);
            assertThat(r.status()).isEqualTo(504);
            assertThat(r.header("x-sluice-error")).isEqualTo("response_timeout");
            // A timeout is not retried: the request may be running at the backend.
            assertThat(backend.requestCount()).isEqualTo(1);
        }
    }

    @Test
    void blackholedConnectGives504ConnectTimeout() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             FaultRelay relay = FaultRelay.start(backend.address()).blackhole();
             TestGateway gw = TestGateway.fromYaml(catchAll(relay.authority(), "timeout: 300ms"));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            // The relay accepts but never answers: from Sluice's side a response timeout.
            RawResponse r = c.send(get("/")).readResponse(T);
            assertThat(r.status()).isEqualTo(504);
            assertThat(r.header("x-sluice-error")).isEqualTo("response_timeout");
        }
    }

    /**
     * A head cut mid-line, and one cut at a line's end: Netty consumes whole lines as they
     * arrive, so the second leaves no bytes waiting, and must still be timed as a head.
     */
    @ParameterizedTest
    @ValueSource(strings = {"GET / HTTP/1.1\r\nHost: te", "GET / HTTP/1.1\r\nHost: test\r\n"})
    void slowClientHeadGets408(String partialHead) throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(catchAll(backend.authority(), ""));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            RawResponse r = c.send(partialHead).readResponse(T);
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.header("x-sluice-error")).isEqualTo("request_header_timeout");
            c.awaitClosed(T);
            assertThat(backend.requestCount()).isZero();
        }
    }

    @Test
    void slowPipelinedHeadGets408AfterTheResponseBeforeIt() throws Exception {
        // The next head starts in the same packet as a request being answered, then stalls: the
        // header timeout applies to it once the first response is out, not the idle timeout.
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(catchAll(backend.authority(), ""));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            c.send(get("/first") + "GET /second HTTP/1.1\r\nHost: te");
            assertThat(c.readResponse(T).status()).isEqualTo(200);
            RawResponse r = c.readResponse(T);
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.header("x-sluice-error")).isEqualTo("request_header_timeout");
            c.awaitClosed(T);
            assertThat(backend.requestCount()).isEqualTo(1);
        }
    }

    @Test
    void pipelinedRequestsThatArriveWholeLeaveAnIdleConnectionToTheIdleTimeout() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(catchAll(backend.authority(), ""));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            c.send(get("/first") + get("/second"));
            assertThat(c.readResponse(T).status()).isEqualTo(200);
            assertThat(c.readResponse(T).status()).isEqualTo(200);
            Thread.sleep(700); // over twice the header timeout of 300 ms, far under the idle timeout
            assertThat(c.send(get("/third")).readResponse(T).status()).isEqualTo(200);
        }
    }

    @Test
    void malformedBackendResponseGives502BadResponse() throws Exception {
        try (java.net.ServerSocket junk = new java.net.ServerSocket(0, 10, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try (var s = junk.accept()) {
                    s.getInputStream().read(new byte[4096]);
                    s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok"
                            .getBytes());
                    s.getInputStream().read();
                } catch (java.io.IOException ignored) {
                    // The proxy closed the connection, as it should.
                }
            });
            try (TestGateway gw = TestGateway.fromYaml(catchAll("127.0.0.1:%d".formatted(junk.getLocalPort()), ""));
                 RawHttpClient c = RawHttpClient.connect(gw.address())) {
                RawResponse r = c.send(get("/")).readResponse(T);
                assertThat(r.status()).isEqualTo(502);
                assertThat(r.header("x-sluice-error")).isEqualTo("bad_response");
            }
        }
    }

    @Test
    void resetAfterTheRequestWasSentIsNotRetriedForPost() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.resetConnection());
             TestGateway gw = TestGateway.fromYaml(catchAll(backend.authority(), ""));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            RawResponse r = c.send(post("/pay", "amount=5")).readResponse(T);
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("x-sluice-error")).isEqualTo("reset_before_response");
            assertThat(backend.requestCount()).isEqualTo(1);
            Await.until(T, () -> !gw.accessLogLines().isEmpty(), "a log line");
            assertThat(gw.accessLogLines().get(0)).contains("not retried: the request may have been processed");
        }
    }

    @Test
    void clientStallingMidBodyGets408AndTheEndpointNeverSeesACompleteRequest() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(catchAll(backend.authority(), ""));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            RawResponse r = c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly-part")
                    .readResponse(T);
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.header("x-sluice-error")).isEqualTo("request_body_timeout");
            c.awaitClosed(T);
            assertThat(backend.requests()).allSatisfy(req -> assertThat(req.complete()).isFalse());
        }
    }

    @Test
    void clientStallingMidBodyAfterAnEarlyResponseBeganIsCutByTheBodyTimeout() throws Exception {
        // The backend answers on the head and streams on; the client stops sending its body.
        BackendHandler answersEarly = new BackendHandler() {
            @Override
            public void onHead(BackendExchange ex) {
                ex.startResponse(200, new DefaultHttpHeaders());
                ex.writeContent("first part".getBytes(StandardCharsets.US_ASCII));
            }

            @Override
            public void onRequest(BackendExchange ex) {
                ex.endResponse();
            }
        };
        try (TestBackend backend = TestBackend.start(answersEarly);
             TestGateway gw = TestGateway.fromYaml(catchAll(backend.authority(), ""));
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly-part");
            c.awaitClosed(T);
            Await.until(T, () -> !gw.accessLogLines().isEmpty(), "a log line");
            assertThat(gw.accessLogLines().get(0)).contains("request_body_timeout");
            assertThat(backend.requests()).allSatisfy(req -> assertThat(req.complete()).isFalse());
        }
    }
}
