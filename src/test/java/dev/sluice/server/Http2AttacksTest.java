package dev.sluice.server;

import static dev.sluice.server.RawH2Client.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestBackend;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Attacks on Sluice's HTTP/2 on real sockets (h2c with prior knowledge, frames written by hand):
 * each is refused as RFC 9113 and the CVEs' fixes say, nothing of it reaches the backend, and
 * another client is served meanwhile.
 */
class Http2AttacksTest {
    static H2cTarget target;
    static TestBackend backend;
    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        target = H2cTarget.start(", max_concurrent_streams: 5, max_resets: 50, reset_window: 30s");
        backend = target.backend;
        gateway = target.gateway;
    }

    @AfterAll
    static void stop() {
        target.close();
    }

    @BeforeEach
    void forget() {
        backend.clearRequests();
    }

    @Test
    void headsHttp11WouldReadDifferentlyAreResetAndNeverForwarded() throws Exception {
        Map<String, Http2Headers> attempts = new LinkedHashMap<>();
        attempts.put("uppercase name", request("GET", "/", "X-Upper", "1"));
        attempts.put("connection", request("GET", "/", "connection", "keep-alive"));
        attempts.put("keep-alive", request("GET", "/", "keep-alive", "timeout=5"));
        attempts.put("proxy-connection", request("GET", "/", "proxy-connection", "keep-alive"));
        attempts.put("transfer-encoding", request("POST", "/", "transfer-encoding", "chunked"));
        attempts.put("upgrade", request("GET", "/", "upgrade", "websocket"));
        attempts.put("te other than trailers", request("GET", "/", "te", "gzip"));
        attempts.put("CRLF in a value", request("GET", "/", "x-a", "1\r\nGET /smuggled HTTP/1.1"));
        attempts.put("LF in a value", request("GET", "/", "x-a", "1\nx-b: 2"));
        attempts.put("NUL in a value", request("GET", "/", "x-a", "1\u0000"));
        attempts.put("space in :path", request("GET", "/a HTTP/1.1\r\nx: y", "x-a", "1"));
        attempts.put(":path not origin-form", request("GET", "http://elsewhere/", "x-a", "1"));
        attempts.put("userinfo in :authority", request("GET", "/").authority("user@h2.test"));
        attempts.put("host disagreeing with :authority", request("GET", "/", "host", "other.test"));
        attempts.put("unknown pseudo-field", request("GET", "/").set(":foo", "bar"));
        attempts.put("CONNECT", request("CONNECT", "/"));
        attempts.put(":protocol on a GET", request("GET", "/").set(":protocol", "websocket"));
        attempts.put("extended CONNECT with a content-length", request("CONNECT", "/", "content-length", "0")
                .set(":protocol", "websocket"));
        attempts.put("two content-lengths", request("POST", "/", "content-length", "1", "content-length", "2"));
        Http2Headers noPath = request("GET", "/");
        noPath.remove(":path");
        attempts.put("no :path", noPath);
        for (Map.Entry<String, Http2Headers> attempt : attempts.entrySet()) {
            try (RawH2Client attacker = new RawH2Client(gateway.address())) {
                attacker.headers(1, attempt.getValue(), true);
                RawH2Client.Frame answer = attacker.endOf(1);
                assertThat(answer).as(attempt.getKey()).isNotNull();
                assertThat(answer.type()).as(attempt.getKey() + ": reset (or the connection refused)")
                        .isIn(RawH2Client.RST_STREAM, RawH2Client.GOAWAY);
                assertThat(answer.errorCode()).as(attempt.getKey()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            }
        }
        target.anotherClientIsServed();
        assertThat(backend.requests()).as("only the other client's request reached the backend")
                .singleElement().satisfies(r -> assertThat(r.uri()).isEqualTo("/other"));
    }

    @Test
    void aBodyThatDisagreesWithContentLengthNeverReachesTheBackendWhole() throws Exception {
        try (RawH2Client attacker = new RawH2Client(gateway.address())) {
            // More DATA than declared: the rest would be a second request on the backend's connection.
            attacker.headers(1, request("POST", "/", "content-length", "5"), false);
            attacker.data(1, "hello GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII), true);
            RawH2Client.Frame longer = attacker.endOf(1);
            assertThat(longer.type()).isEqualTo(RawH2Client.RST_STREAM);
            assertThat(longer.errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            // Less DATA than declared, then the end.
            attacker.headers(3, request("POST", "/", "content-length", "50"), false);
            attacker.data(3, "short".getBytes(StandardCharsets.US_ASCII), true);
            RawH2Client.Frame shorter = attacker.endOf(3);
            assertThat(shorter.type()).isEqualTo(RawH2Client.RST_STREAM);
            assertThat(shorter.errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            // The connection still serves a good request.
            attacker.headers(5, request("GET", "/after"), true);
            assertThat(attacker.status(5)).isEqualTo(200);
        }
        // The short body's head and its 5 bytes went on before its END_STREAM showed the lie: the
        // backend may have recorded them as a request cut off (its connection closed), never whole.
        assertThat(backend.requests()).as("the backend saw no whole request but the good one")
                .filteredOn(dev.sluice.testing.RecordedRequest::complete)
                .extracting(dev.sluice.testing.RecordedRequest::uri).containsExactly("/after");
    }

    @Test
    void headersOnAStreamTheClientEndedOrSkippedEndTheConnection() throws Exception {
        // RFC 9113 §5.1: HEADERS on a stream closed both ways is a connection error STREAM_CLOSED.
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            client.headers(1, request("GET", "/first"), true);
            assertThat(client.status(1)).isEqualTo(200);
            client.headers(1, request("GET", "/again"), true);
            RawH2Client.Frame answer = client.endOf(1);
            assertThat(answer.type()).isEqualTo(RawH2Client.GOAWAY);
            assertThat(answer.errorCode()).isEqualTo(Http2Error.STREAM_CLOSED.code());
            assertThat(client.closedByServer()).isTrue();
        }
        // §5.1.1: a stream id lower than one already opened is a connection error PROTOCOL_ERROR.
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            client.headers(5, request("GET", "/five"), true);
            assertThat(client.status(5)).isEqualTo(200);
            client.headers(3, request("GET", "/three"), true);
            RawH2Client.Frame answer = client.endOf(3);
            assertThat(answer.type()).isEqualTo(RawH2Client.GOAWAY);
            assertThat(answer.errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
        }
        assertThat(backend.requests()).extracting(dev.sluice.testing.RecordedRequest::uri)
                .containsExactly("/first", "/five");
    }

    @Test
    void trailersInFlightOnAStreamSluiceAlreadyAnsweredKeepTheConnection() throws Exception {
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            // Refused at once (a connection-specific field): the client's trailers were already on their way.
            client.headers(1, request("POST", "/refused", "connection", "close"), false);
            client.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers(false).add("x-t", "1"), true);
            RawH2Client.Frame answer = client.endOf(1);
            assertThat(answer.type()).isEqualTo(RawH2Client.RST_STREAM);
            client.headers(3, request("GET", "/after"), true);
            assertThat(client.status(3)).isEqualTo(200);
        }
    }

    @Test
    void aHeaderBlockAfterARefusedHeadIsNeverANewRequestOnItsStream() throws Exception {
        // Found by Http2FramesFuzzTest: a head Netty's HPACK validation refuses (a second :method)
        // is reset before the codec creates its stream, so the client's next HEADERS on that id
        // opened the stream anew and went to the backend. RFC 9113 §5.1.1: an id is not reused.
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            client.headers(1, request("POST", "/refused").add(":method", "GET"), false);
            RawH2Client.Frame refused = client.endOf(1);
            assertThat(refused.type()).isEqualTo(RawH2Client.RST_STREAM);
            assertThat(refused.errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
            client.headers(1, request("POST", "/second-block"), false);
            client.data(1, new byte[0], true);
            RawH2Client.Frame again = client.endOf(1);
            assertThat(again.type()).as("the second block is reset too, not answered").isEqualTo(RawH2Client.RST_STREAM);
            assertThat(again.errorCode()).isEqualTo(Http2Error.STREAM_CLOSED.code());
            client.headers(3, request("GET", "/after"), true);
            assertThat(client.status(3)).as("the connection goes on").isEqualTo(200);
        }
        assertThat(backend.requests()).as("only the next stream's request reached the backend")
                .singleElement().satisfies(r -> assertThat(r.uri()).isEqualTo("/after"));
    }

    @Test
    void aHeaderBlockSentWithTheRefusedHeadIsResetTooAndOnlyTheNextStreamIsForwarded() throws Exception {
        // The same, with the second block in the same packet as the first: Sluice reads both before
        // the codec has answered either.
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            java.io.ByteArrayOutputStream packet = new java.io.ByteArrayOutputStream();
            packet.writeBytes(RawH2Client.frameBytes(RawH2Client.HEADERS, RawH2Client.END_HEADERS, 1,
                    client.block(1, request("POST", "/refused").add(":method", "GET"))));
            packet.writeBytes(RawH2Client.frameBytes(RawH2Client.HEADERS, RawH2Client.END_HEADERS | RawH2Client.END_STREAM, 1,
                    client.block(1, request("GET", "/second-block"))));
            packet.writeBytes(RawH2Client.frameBytes(RawH2Client.HEADERS, RawH2Client.END_HEADERS | RawH2Client.END_STREAM, 3,
                    client.block(3, request("GET", "/after"))));
            client.raw(packet.toByteArray());
            client.flush();
            assertThat(client.status(3)).isEqualTo(200);
        }
        assertThat(backend.requests()).singleElement().satisfies(r -> assertThat(r.uri()).isEqualTo("/after"));
    }

    @Test
    void aStreamRefusedAsOneTooManyIsNotOpenedByItsNextHeaders() throws Exception {
        // The codec refuses a stream past max_concurrent_streams (5 here) before creating it, as it
        // refuses a bad head: a HEADERS on that id once a place is free is no new request either.
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            for (int stream = 1; stream <= 9; stream += 2) {
                client.headers(stream, request("POST", "/open-" + stream), false);
            }
            client.headers(11, request("POST", "/one-too-many"), false);
            RawH2Client.Frame refused = client.endOf(11);
            assertThat(refused.type()).isEqualTo(RawH2Client.RST_STREAM);
            assertThat(refused.errorCode()).isEqualTo(Http2Error.REFUSED_STREAM.code());
            client.data(1, new byte[0], true);
            assertThat(client.status(1)).isEqualTo(200);
            client.headers(11, request("GET", "/one-too-many-again"), true);
            RawH2Client.Frame again = client.endOf(11);
            assertThat(again.type()).isEqualTo(RawH2Client.RST_STREAM);
            assertThat(again.errorCode()).isEqualTo(Http2Error.STREAM_CLOSED.code());
            for (int stream = 3; stream <= 9; stream += 2) {
                client.data(stream, new byte[0], true);
                assertThat(client.status(stream)).isEqualTo(200);
            }
        }
        backend.awaitRequests(5, java.time.Duration.ofSeconds(10));
        assertThat(backend.requests()).extracting(dev.sluice.testing.RecordedRequest::uri)
                .containsExactlyInAnyOrder("/open-1", "/open-3", "/open-5", "/open-7", "/open-9");
    }

    @Test
    void framingFieldsInTrailersAreDroppedAndTheRestGoesOn() throws Exception {
        // Found by Http2FramesFuzzTest: a content-length trailer made the stream fail with an
        // unexpected error (HTTP/1.1's trailers cannot hold it) instead of being dealt with.
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            client.headers(1, request("POST", "/trailers"), false);
            client.data(1, "hello".getBytes(StandardCharsets.US_ASCII), false);
            Http2Headers trailers = new io.netty.handler.codec.http2.DefaultHttp2Headers(false)
                    .add("content-length", "9").add("trailer", "x").add("x-sum", "5");
            client.headers(1, trailers, true);
            assertThat(client.status(1)).isEqualTo(200);
        }
        backend.awaitRequests(1, java.time.Duration.ofSeconds(10));
        assertThat(backend.requests()).singleElement().satisfies(r -> {
            assertThat(r.failure()).isNull();
            assertThat(r.bodyString()).isEqualTo("hello");
            assertThat(r.trailers()).containsExactly(Map.entry("x-sum", "5"));
        });
    }

    @Test
    void aRapidResetFloodGetsGoAwayEnhanceYourCalmWhileOthersAreServed() throws Exception {
        try (RawH2Client attacker = new RawH2Client(gateway.address())) {
            byte[] head = null;
            for (int stream = 1; stream < 2 * 1000; stream += 2) {
                // CVE-2023-44487: open a stream and reset it at once, over and over.
                try {
                    attacker.frame(RawH2Client.HEADERS, RawH2Client.END_HEADERS | RawH2Client.END_STREAM, stream,
                            attacker.block(stream, request("GET", "/flood")));
                    attacker.reset(stream, (int) Http2Error.CANCEL.code());
                    attacker.flush();
                } catch (IOException closedMidFlood) {
                    break;
                }
            }
            RawH2Client.Frame goAway;
            do {
                goAway = attacker.next();
            } while (goAway != null && goAway.type() != RawH2Client.GOAWAY);
            assertThat(goAway).as("a GOAWAY before the connection closed").isNotNull();
            assertThat(goAway.errorCode()).isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
            assertThat(attacker.closedByServer()).isTrue();
        }
        target.anotherClientIsServed();
        assertThat(backend.requestCount()).as("at most the streams let through before the limit")
                .isLessThanOrEqualTo(51);
    }

    @Test
    void aContinuationFloodIsCutOffAfterAFewFrames() throws Exception {
        int sent = 0;
        try (RawH2Client attacker = new RawH2Client(gateway.address())) {
            // CVE-2024-27316: a header block that never ends, in tiny CONTINUATION frames.
            attacker.frame(RawH2Client.HEADERS, 0, 1, attacker.block(1, request("GET", "/")));
            byte[] fragment = {0x40, 0x01, 'x'};
            try {
                for (; sent < 100_000; sent++) {
                    attacker.frame(RawH2Client.CONTINUATION, 0, 1, fragment);
                    if (sent % 100 == 0) {
                        attacker.flush();
                    }
                }
                attacker.flush();
            } catch (IOException closed) {
                // The server closed the connection while the flood was still being written.
            }
            RawH2Client.Frame goAway;
            do {
                goAway = attacker.next();
            } while (goAway != null && goAway.type() != RawH2Client.GOAWAY);
            assertThat(goAway).as("a GOAWAY").isNotNull();
            assertThat(attacker.closedByServer()).isTrue();
        }
        target.anotherClientIsServed();
        assertThat(backend.requests()).extracting(dev.sluice.testing.RecordedRequest::uri).containsExactly("/other");
    }

    @Test
    void aHeaderListPastTheLimitIsRefusedAndAnHpackBombEndsTheConnection() throws Exception {
        try (RawH2Client attacker = new RawH2Client(gateway.address())) {
            // 70 KiB of fields, over the 64 KiB max_header_list_size: 431, the connection stays.
            Http2Headers big = request("GET", "/big");
            for (int i = 0; i < 70; i++) {
                big.add("x-field-" + i, "v".repeat(1000));
            }
            attacker.headers(1, big, true);
            assertThat(attacker.status(1)).isEqualTo(431);
            attacker.headers(3, request("GET", "/after-431"), true);
            assertThat(attacker.status(3)).isEqualTo(200);
        }
        try (RawH2Client bomber = new RawH2Client(gateway.address())) {
            // An HPACK bomb: one 4 KiB field in the dynamic table, then a block of 1-byte references to
            // it: 50 bytes on the wire decode to 200 KiB, far past the limit: GOAWAY, never held whole.
            String value = "b".repeat(4000);
            bomber.headers(1, request("GET", "/seed", "x-bomb", value), true);
            assertThat(bomber.status(1)).isEqualTo(200);
            Http2Headers bomb = request("GET", "/bomb");
            for (int i = 0; i < 50; i++) {
                bomb.add("x-bomb", value);
            }
            bomber.headers(3, bomb, true);
            RawH2Client.Frame answer = bomber.endOf(3);
            assertThat(answer).isNotNull();
            assertThat(answer.type() == RawH2Client.GOAWAY
                    || answer.type() == RawH2Client.HEADERS && "431".contentEquals(answer.headers().status()))
                    .as("GOAWAY or 431, got frame type " + answer.type()).isTrue();
        }
        target.anotherClientIsServed();
        assertThat(backend.requests()).extracting(dev.sluice.testing.RecordedRequest::uri)
                .containsExactly("/after-431", "/seed", "/other");
    }

    @Test
    void aStreamPastMaxConcurrentStreamsIsRefused() throws Exception {
        try (RawH2Client attacker = new RawH2Client(gateway.address())) {
            // Five streams held open (no END_STREAM), the listener's max_concurrent_streams: 5.
            for (int stream = 1; stream <= 9; stream += 2) {
                attacker.headers(stream, request("POST", "/held", "content-length", "1"), false);
            }
            attacker.headers(11, request("GET", "/sixth"), true);
            RawH2Client.Frame refused = attacker.endOf(11);
            assertThat(refused.type()).isEqualTo(RawH2Client.RST_STREAM);
            assertThat(refused.errorCode()).isEqualTo(Http2Error.REFUSED_STREAM.code());
            // The held ones finish normally once their bodies come.
            attacker.data(1, new byte[] {'x'}, true);
            assertThat(attacker.status(1)).isEqualTo(200);
        }
        target.anotherClientIsServed();
    }
}
