package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A corpus of malformed and ambiguous requests (the request-smuggling classics). Each must get
 * a local 400 naming {@code bad_request}, and none may reach the backend, whole or in part.
 */
class RequestSmugglingTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static TestBackend backend;
    private static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        backend = TestBackend.start(BackendHandlers.echo());
        gateway = TestGateway.proxyTo(backend.address());
    }

    @AfterAll
    static void stop() {
        gateway.close();
        backend.close();
    }

    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("Content-Length with Transfer-Encoding (CL.TE)",
                        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"),
                Arguments.of("Transfer-Encoding with Content-Length (TE.CL)",
                        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n"),
                Arguments.of("differing repeated Content-Length",
                        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"),
                Arguments.of("comma-joined differing Content-Length",
                        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 5\r\n\r\nabcde"),
                Arguments.of("non-numeric Content-Length",
                        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc"),
                Arguments.of("Transfer-Encoding not ending in chunked",
                        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
                Arguments.of("unknown Transfer-Encoding",
                        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("chunked applied twice",
                        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("Transfer-Encoding in HTTP/1.0",
                        "POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("invalid chunk size",
                        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
                Arguments.of("chunk size overflow",
                        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n"),
                Arguments.of("bare LF line endings",
                        "GET / HTTP/1.1\nHost: h\n\n"),
                Arguments.of("bare LF inside the head",
                        "GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n\r\n"),
                Arguments.of("obsolete line folding",
                        "GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n"),
                Arguments.of("folded Transfer-Encoding",
                        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 3\r\n\r\nabc"),
                Arguments.of("space before the colon",
                        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("invalid header-name character",
                        "GET / HTTP/1.1\r\nHost: h\r\nX(A): b\r\n\r\n"),
                Arguments.of("control character in a header value",
                        "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u0000b\r\n\r\n"),
                Arguments.of("HTTP/1.1 without Host",
                        "GET / HTTP/1.1\r\nX-A: b\r\n\r\n"),
                Arguments.of("two Host headers",
                        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                Arguments.of("CONNECT to a reverse proxy",
                        "CONNECT backend:443 HTTP/1.1\r\nHost: backend:443\r\n\r\n"),
                Arguments.of("tab between method and target",
                        "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"),
                Arguments.of("tab between target and version",
                        "GET /\tHTTP/1.1\r\nHost: h\r\n\r\n"),
                Arguments.of("two spaces in the request line",
                        "GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
                Arguments.of("space before the request line",
                        " GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
                Arguments.of("space at the end of the request line",
                        "GET / HTTP/1.1 \r\nHost: h\r\n\r\n"),
                Arguments.of("garbage request line",
                        "HELLO\r\n\r\n"),
                Arguments.of("unsupported HTTP version",
                        "GET / HTTP/2.7\r\nHost: h\r\n\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedRequestGets400AndNeverReachesTheBackend(String name, String request) {
        int before = backend.requestCount();
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            RawResponse r = c.send(request).readResponse(T);
            assertThat(r.status()).as(name).isEqualTo(400);
            assertThat(r.header("x-sluice-error")).isEqualTo("bad_request");
            assertThat(r.bodyString()).contains("bad_request", "request-id");
            assertThat(r.connectionClose()).isTrue();
        }
        assertThat(backend.requestCount()).as("requests that reached the backend").isEqualTo(before);
    }

    @Test
    void aBadChunkMidBodyNeverCompletesARequestAtTheBackend() {
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            RawResponse r = c.send("POST /stream HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\nnot-hex\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(400);
        }
        // The backend may have seen the head, but never a complete request made of the bad body.
        assertThat(backend.requests()).filteredOn(req -> req.uri().equals("/stream"))
                .allSatisfy(req -> assertThat(req.complete()).isFalse());
    }

    @Test
    void oversizedHeadsGet431AndLongRequestLinesGet414() {
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            RawResponse r = c.send("GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: h\r\n\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(414);
            assertThat(r.header("x-sluice-error")).isEqualTo("request_line_too_long");
        }
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            RawResponse r = c.send("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + "b".repeat(70_000) + "\r\n\r\n").readResponse(T);
            assertThat(r.status()).isEqualTo(431);
            assertThat(r.header("x-sluice-error")).isEqualTo("headers_too_large");
        }
        StringBuilder many = new StringBuilder("GET / HTTP/1.1\r\nHost: h\r\n");
        for (int i = 0; i < 101; i++) {
            many.append("X-H").append(i).append(": v\r\n");
        }
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            RawResponse r = c.send(many.append("\r\n").toString()).readResponse(T);
            assertThat(r.status()).isEqualTo(431);
        }
        assertThat(backend.requests()).noneSatisfy(req -> assertThat(req.uri()).startsWith("/aaa"));
    }

    @Test
    void requestsSmuggledBehindARejectedOneAreNotProcessed() {
        int before = backend.requestCount();
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            c.send("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThat(c.readResponse(T).status()).isEqualTo(400);
            c.awaitClosed(T);
        }
        assertThat(backend.requests().stream().skip(before).map(r -> r.uri()).toList()).isEqualTo(List.of());
    }
}
