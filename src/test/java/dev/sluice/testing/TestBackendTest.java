package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TestBackendTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void recordsMethodUriHeadersAndBodyAndEchoesThemAsJson() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.send("POST /items?x=1 HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nX-Dup: 2\r\nContent-Length: 5\r\n\r\nhello");
            RawResponse response = client.readResponse(WAIT);

            assertThat(response.status()).isEqualTo(200);
            JsonNode json = new ObjectMapper().readTree(response.body());
            assertThat(json.get("method").asText()).isEqualTo("POST");
            assertThat(json.get("uri").asText()).isEqualTo("/items?x=1");
            assertThat(json.get("body").asText()).isEqualTo("hello");
            assertThat(json.get("headers").toString()).contains("[\"X-Dup\",\"1\"],[\"X-Dup\",\"2\"]");

            RecordedRequest r = backend.awaitRequests(1, WAIT).get(0);
            assertThat(r.method()).isEqualTo("POST");
            assertThat(r.path()).isEqualTo("/items");
            assertThat(r.version()).isEqualTo("HTTP/1.1");
            assertThat(r.headerValues("x-dup")).containsExactly("1", "2");
            assertThat(r.bodyString()).isEqualTo("hello");
            assertThat(r.bodySha256()).isEqualTo(Sha256.hex("hello".getBytes(StandardCharsets.UTF_8)));
            assertThat(r.complete()).isTrue();
            assertThat(backend.connectionsAccepted()).isEqualTo(1);
        }
    }

    @Test
    void backendHashesAStreamedUploadWithoutBufferingIt() throws Exception {
        long size = 256L * 1024 * 1024;
        try (TestBackend backend = TestBackend.start(BackendHandlers.hash());
             HttpClient http = HttpClient.newHttpClient()) {
            HttpRequest upload = HttpRequest.newBuilder(backend.uri("/upload"))
                    .POST(HttpRequest.BodyPublishers.fromPublisher(
                            HttpRequest.BodyPublishers.ofInputStream(() -> PseudoRandomBody.stream(size)), size))
                    .build();

            HttpResponse<String> response = http.send(upload, HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.headers().firstValue("x-body-sha256")).hasValue(PseudoRandomBody.sha256(size));
            assertThat(response.headers().firstValue("x-body-length")).hasValue(Long.toString(size));
            RecordedRequest r = backend.lastRequest();
            assertThat(r.bodyRetained()).isFalse();
            assertThat(r.bodyLength()).isEqualTo(size);
        }
    }

    @Test
    void chunkedUploadWithTrailersIsRecordedWithItsTrailers() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.hash());
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Checksum: 42\r\n\r\n");
            RawResponse response = client.readResponse(WAIT);

            assertThat(response.header("x-body-sha256")).isEqualTo(Sha256.hex("abcde".getBytes(StandardCharsets.US_ASCII)));
            RecordedRequest r = backend.lastRequest();
            assertThat(r.bodyString()).isEqualTo("abcde");
            assertThat(r.trailer("x-checksum")).isEqualTo("42");
        }
    }

    @Test
    void downloadStreamsTheDeterministicBodyWithEitherFraming() throws Exception {
        long size = 32L * 1024 * 1024 + 7;
        try (TestBackend lengthDelimited = TestBackend.start(BackendHandlers.download(size, false));
             TestBackend chunked = TestBackend.start(BackendHandlers.download(size, true));
             HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<Sha256.Digest> a = http.send(HttpRequest.newBuilder(lengthDelimited.uri("/")).build(), Sha256.bodyHandler());
            HttpResponse<Sha256.Digest> b = http.send(HttpRequest.newBuilder(chunked.uri("/")).build(), Sha256.bodyHandler());

            assertThat(a.headers().firstValue("content-length")).hasValue(Long.toString(size));
            assertThat(b.headers().firstValue("transfer-encoding")).hasValue("chunked");
            assertThat(a.body()).isEqualTo(new Sha256.Digest(PseudoRandomBody.sha256(size), size));
            assertThat(b.body()).isEqualTo(a.body());
        }
    }

    @Test
    void chunkedResponseCarriesItsTrailers() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.chunkedWithTrailers(List.of("ab", "cd"), Map.of("x-digest", "xyz")));
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.sendLines("GET / HTTP/1.1", "Host: a", "");
            RawResponse r = client.readResponse(WAIT);

            assertThat(r.framing()).isEqualTo(RawResponse.Framing.CHUNKED);
            assertThat(r.header("trailer")).isEqualTo("x-digest");
            assertThat(r.bodyString()).isEqualTo("abcd");
            assertThat(r.trailer("x-digest")).isEqualTo("xyz");
        }
    }

    @Test
    void interimResponsesComeBeforeTheFinalOne() {
        BackendHandler handler = BackendHandlers.earlyHints("</style.css>; rel=preload",
                BackendHandlers.expectContinue(BackendHandlers.hash()));
        try (TestBackend backend = TestBackend.start(handler);
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.sendLines("PUT / HTTP/1.1", "Host: a", "Expect: 100-continue", "Content-Length: 3", "");
            assertThat(client.readResponse(WAIT).status()).isEqualTo(103);
            assertThat(client.readResponse(WAIT).status()).isEqualTo(100);
            assertThat(backend.requestCount()).isZero();

            client.send("xyz");
            RawResponse r = client.readFinalResponse(WAIT);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("x-body-length")).isEqualTo("3");
        }
    }

    @Test
    void earlyHintsAreReportedAsInterimOfTheFinalResponse() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.earlyHints("</a.js>; rel=preload", BackendHandlers.fixed(200, "ok")));
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.sendLines("GET / HTTP/1.1", "Host: a", "");
            RawResponse r = client.readFinalResponse(WAIT);

            assertThat(r.bodyString()).isEqualTo("ok");
            assertThat(r.interim()).singleElement().satisfies(hint -> {
                assertThat(hint.status()).isEqualTo(103);
                assertThat(hint.header("link")).isEqualTo("</a.js>; rel=preload");
            });
        }
    }

    @Test
    void keepAliveTimeoutIsAnnouncedAndIdleConnectionsAreClosedAfterIt() {
        try (TestBackend backend = TestBackend.builder().handler(BackendHandlers.status(200)).keepAliveTimeout(1).start();
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            long sent = System.nanoTime(); // the backend's idle clock starts after this, once it has answered
            client.sendLines("GET / HTTP/1.1", "Host: a", "");
            RawResponse r = client.readResponse(WAIT);
            assertThat(r.header("keep-alive")).isEqualTo("timeout=1");

            assertThat(client.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.FIN);
            assertThat(Duration.ofNanos(System.nanoTime() - sent)).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
        }
    }

    @Test
    void connectionReusedWithinTheIdleTimeoutStaysOpen() {
        try (TestBackend backend = TestBackend.builder().idleTimeout(Duration.ofSeconds(5)).start();
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            for (int i = 0; i < 3; i++) {
                client.sendLines("GET / HTTP/1.1", "Host: a", "");
                assertThat(client.readResponse(WAIT).status()).isEqualTo(200);
            }
            assertThat(backend.requests()).extracting(RecordedRequest::indexOnConnection).containsExactly(0, 1, 2);
            assertThat(backend.connectionsAccepted()).isEqualTo(1);
        }
    }

    @Test
    void connectionCloseResponseAnnouncesAndClosesTheConnection() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.connectionClose(BackendHandlers.fixed(200, "bye")));
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.sendLines("GET / HTTP/1.1", "Host: a", "");
            RawResponse r = client.readResponse(WAIT);

            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(r.bodyString()).isEqualTo("bye");
            assertThat(client.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.FIN);
        }
    }

    @Test
    void http10StyleResponseIsDelimitedByClose() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.http10("old school"));
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.sendLines("GET / HTTP/1.1", "Host: a", "");
            RawResponse r = client.readResponse(WAIT);

            assertThat(r.version()).isEqualTo("HTTP/1.0");
            assertThat(r.framing()).isEqualTo(RawResponse.Framing.CLOSE_DELIMITED);
            assertThat(r.header("content-length")).isNull();
            assertThat(r.bodyString()).isEqualTo("old school");
            assertThat(client.closeKind()).isEqualTo(RawHttpClient.CloseKind.FIN);
        }
    }

    @Test
    void noContentAndNotModifiedAreBodylessAndKeepTheConnection() {
        BackendHandler handler = ex -> (ex.path().equals("/204") ? BackendHandlers.noContent()
                : BackendHandlers.notModified("\"v1\"")).onRequest(ex);
        try (TestBackend backend = TestBackend.start(handler);
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.send("GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\n");

            RawResponse first = client.readResponse(WAIT);
            RawResponse second = client.readResponse(WAIT);
            assertThat(first.status()).isEqualTo(204);
            assertThat(first.framing()).isEqualTo(RawResponse.Framing.NO_BODY);
            assertThat(second.status()).isEqualTo(304);
            assertThat(second.header("etag")).isEqualTo("\"v1\"");
            assertThat(client.readRaw(Duration.ofMillis(100))).isEmpty();
            assertThat(client.closeKind()).isNull();
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderEvenWhenTheFirstIsSlow() {
        BackendHandler handler = ex -> {
            if (ex.path().equals("/slow")) {
                ex.schedule(Duration.ofMillis(200), () -> ex.respond(200, "slow"));
            } else {
                ex.respond(200, "fast");
            }
        };
        try (TestBackend backend = TestBackend.start(handler);
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\n");

            assertThat(client.readResponse(WAIT).bodyString()).isEqualTo("slow");
            assertThat(client.readResponse(WAIT).bodyString()).isEqualTo("fast");
        }
    }

    @Test
    void delayedHandlerAnswersAfterItsDelay() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.delayed(Duration.ofMillis(300), BackendHandlers.status(202)));
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            long start = System.nanoTime();
            client.sendLines("GET / HTTP/1.1", "Host: a", "");

            assertThat(client.readResponse(WAIT).status()).isEqualTo(202);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        }
    }

    @Test
    void malformedRequestIsAnswered400AndRecordedAsFailed() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");

            assertThat(client.readResponse(WAIT).status()).isEqualTo(400);
            assertThat(client.awaitClosed(WAIT)).isNotNull();
            RecordedRequest r = backend.awaitRequests(1, WAIT).get(0);
            assertThat(r.complete()).isFalse();
            assertThat(r.failure()).contains("decoder");
            assertThat(backend.bytesReceived()).isPositive();
        }
    }

    @Test
    void handlerExceptionIsAnswered500AndKept() {
        try (TestBackend backend = TestBackend.start(ex -> { throw new IllegalStateException("boom"); });
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.sendLines("GET / HTTP/1.1", "Host: a", "");

            RawResponse r = client.readResponse(WAIT);
            assertThat(r.status()).isEqualTo(500);
            assertThat(r.bodyString()).contains("boom");
            assertThat(backend.handlerErrors()).singleElement().isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void closingAndResettingHandlersEndTheConnectionWithoutAResponse() {
        BackendHandler handler = ex -> (ex.path().equals("/fin") ? BackendHandlers.closeConnection()
                : BackendHandlers.resetConnection()).onRequest(ex);
        try (TestBackend backend = TestBackend.start(handler);
             RawHttpClient fin = RawHttpClient.connect(backend.port());
             RawHttpClient rst = RawHttpClient.connect(backend.port())) {
            fin.sendLines("GET /fin HTTP/1.1", "Host: a", "");
            rst.sendLines("GET /rst HTTP/1.1", "Host: a", "");

            assertThat(fin.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.FIN);
            assertThat(rst.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
            assertThat(fin.readRaw(Duration.ZERO)).isEmpty();
            assertThat(backend.requests()).hasSize(2);
        }
    }

    @Test
    void truncatedResponseEndsMidBody() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.truncated(1000, 100));
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            client.sendLines("GET / HTTP/1.1", "Host: a", "");

            assertThatThrownBy(() -> client.readResponse(WAIT))
                    .isInstanceOfSatisfying(RawHttpClient.PeerClosedException.class,
                            e -> assertThat(e.kind()).isEqualTo(RawHttpClient.CloseKind.FIN));
        }
    }

    @Test
    void sequenceHandsEachRequestToTheNextHandlerAndRepeatsTheLast() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.sequence(BackendHandlers.status(503), BackendHandlers.status(200)));
             RawHttpClient client = RawHttpClient.connect(backend.port())) {
            for (int expected : new int[] {503, 200, 200}) {
                client.sendLines("GET / HTTP/1.1", "Host: a", "");
                assertThat(client.readResponse(WAIT).status()).isEqualTo(expected);
            }
        }
    }

    @Test
    void connectionClosedMidBodyIsRecordedAsIncomplete() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200))) {
            try (RawHttpClient client = RawHttpClient.connect(backend.port())) {
                client.sendLines("POST / HTTP/1.1", "Host: a", "Content-Length: 100", "").send("only part");
                Await.until(WAIT, () -> backend.bytesReceived() > 0, "bytes to arrive");
            }
            RecordedRequest r = backend.awaitRequests(1, WAIT).get(0);
            assertThat(r.complete()).isFalse();
            assertThat(r.bodyLength()).isEqualTo(9);
            Await.until(WAIT, () -> backend.openConnections() == 0, "backend connection closed");
        }
    }

    @Test
    void aConnectionWaitingInTheListenQueueIsCountedOnceAwaitQueuedConnectionsReturns() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.connectionClose(BackendHandlers.status(200)))) {
            try (TestBackend.Hold hold = backend.hold()) {
                // The kernel completes the handshake; the backend's loops are busy, so no one takes it.
                try (RawHttpClient client = RawHttpClient.connect(backend.port())) {
                    client.sendLines("POST /queued HTTP/1.1", "Host: a", "Content-Length: 0", "");
                }
                // What a test that waits for no open connection sees: nothing, though a whole request waits.
                assertThat(backend.openConnections()).isZero();
                assertThat(backend.connectionsAccepted()).isZero();
            }
            backend.awaitQueuedConnections(WAIT);
            assertThat(backend.connectionsAccepted()).as("the queued connection, not the probe").isEqualTo(1);
            Await.until(WAIT, () -> backend.openConnections() == 0, "the queued connection closed");
            assertThat(backend.requests()).extracting(RecordedRequest::method, RecordedRequest::uri,
                    RecordedRequest::failure).containsExactly(tuple("POST", "/queued", null));
        }
    }

    @Test
    void handlesManyConcurrentKeepAliveConnections() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "ok"))) {
            LoadGenerator.Result r = LoadGenerator.to(backend.uri("/load")).connections(64).requests(6_400)
                    .duration(Duration.ofSeconds(60)).run();

            assertThat(r.transportErrors()).isEmpty();
            assertThat(r.count(200)).isEqualTo(6_400);
            assertThat(r.connectionsOpened()).isEqualTo(64);
            assertThat(backend.connectionsAccepted()).isEqualTo(64);
            assertThat(backend.requestCount()).isEqualTo(6_400);
        }
    }
}
