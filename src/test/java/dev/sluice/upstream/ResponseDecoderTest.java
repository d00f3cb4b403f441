package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.http.HopByHop;
import dev.sluice.http.ReceivedResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sluice's response decoder against what a backend can send: every valid response decodes to
 * what Netty's own decoder makes of it, however the bytes are split across reads, and every
 * response a proxy must not forward fails (Sluice answers those 502 bad_response).
 */
class ResponseDecoderTest {
    private static final int HEAD_LIMIT = 8 * 1024;

    /** Valid responses, each followed by a close (so close-delimited bodies end). */
    private static final List<String> VALID = List.of(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\nContent-Type: text/plain\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nDate: Sat, 28 Nov 2026 12:00:00 GMT\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other:  two words \r\n\r\n",
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nLocation: /x\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-LENGTH: 3\r\nX-Empty:\r\nX-Spaces: \t padded \t\r\n\r\nnop"
                    + "HTTP/1.1 200 OK\r\nTRANSFER-encoding: CHUNKED\r\n\r\n2\r\nok\r\n0\r\n\r\n"
                    + "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n1HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 200 Fine Thanks\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nok",
            "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 200 OK\r\nX-Latin: caf\u00e9 \u00ff\r\nContent-Length: 1\r\n\r\n!",
            "HTTP/1.1 200 OK\r\n\r\nuntil the connection closes",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nnot chunked, so to the end",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "HTTP/1.0 200 OK\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\nold!",
            "HTTP/1.0 200 OK\r\n\r\nold until close",
            "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 99\r\n\r\n",
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nonetwo",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nRetry-After: 3\r\nKeep-Alive: timeout=5, max=100\r\n\r\nerror");

    @Test
    void validResponsesDecodeAsNettysDecoderDecodesThemWhateverTheReadBoundaries() {
        for (String response : VALID) {
            String expected = describe(run(() -> netty(), "GET", List.of(response)));
            assertThat(expected).as("Netty's reading of %s", response).doesNotContain("FAILED");
            assertThat(describe(run(ResponseDecoderTest::sluice, "GET", List.of(response)))).as(response).isEqualTo(expected);
            for (int split = 1; split < response.length(); split++) {
                List<String> reads = List.of(response.substring(0, split), response.substring(split));
                assertThat(describe(run(ResponseDecoderTest::sluice, "GET", reads))).as("%s split at %d", response, split)
                        .isEqualTo(expected);
            }
            List<String> bytes = response.chars().mapToObj(c -> String.valueOf((char) c)).toList();
            assertThat(describe(run(ResponseDecoderTest::sluice, "GET", bytes))).as("%s byte by byte", response).isEqualTo(expected);
        }
    }

    @Test
    void aResponseToHeadHasNoBodyWhateverItsFramingSays() {
        for (String head : List.of("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) {
            // The next response on the connection starts right after the head.
            String next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            String expected = describe(run(() -> netty(), "HEAD", List.of(head + next)));
            assertThat(describe(run(ResponseDecoderTest::sluice, "HEAD", List.of(head + next)))).isEqualTo(expected)
                    .startsWith("200 OK").contains("| last | 200 OK");
        }
    }

    /** Found by ResponseDecodingFuzzTest: an invalid length went to the client with a response that has no body. */
    @ParameterizedTest
    @ValueSource(strings = {"HEAD HTTP/1.1 200 OK\r\nContent-Length: 10\u00d80\r\n\r\n",
        "HEAD HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "GET HTTP/1.1 304 Not Modified\r\nContent-Length: 1x\r\n\r\n"})
    void anInvalidLengthFailsAResponseEvenWithoutABody(String methodAndResponse) {
        String method = methodAndResponse.substring(0, methodAndResponse.indexOf(' '));
        String response = methodAndResponse.substring(method.length() + 1);
        assertThat(describe(run(ResponseDecoderTest::sluice, method, List.of(response)))).as(response).endsWith("FAILED");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: nul\u0000here\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: del\u007fhere\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX@A: 1\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: no name\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n",
        "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
        "ICY 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 O\u0001K\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: bad\u0000\r\n\r\n",
    })
    void responsesAProxyMustNotForwardFail(String response) {
        String seen = describe(run(ResponseDecoderTest::sluice, "GET", List.of(response)));
        assertThat(seen).as(response).endsWith("FAILED");
    }

    @Test
    void aHeadLargerThanTheLimitFailsWithoutWaitingForItsEnd() {
        String big = "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(HEAD_LIMIT) + "\r\n";
        assertThat(describe(run(ResponseDecoderTest::sluice, "GET", List.of(big)))).isEqualTo("FAILED");
    }

    @Test
    void aSwitchingProtocolsResponseIsPassedOnAndNothingAfterItIsReadAsHttp() {
        String response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assertThat(describe(run(ResponseDecoderTest::sluice, "GET", List.of(response)))).isEqualTo("101 Switching Protocols [upgrade: websocket]");
    }

    @Test
    void aConnectionClosedMidHeadFailsAndMidBodyIsLeftToTheConnectionsEnd() {
        assertThat(describe(run(ResponseDecoderTest::sluice, "GET", List.of("HTTP/1.1 200 OK\r\nContent-Le")))).isEqualTo("FAILED");
        // Not even a status line: nothing to report (the connection's end says it all).
        assertThat(describe(run(ResponseDecoderTest::sluice, "GET", List.of("HTTP/1.1 20")))).isEmpty();
        assertThat(describe(run(ResponseDecoderTest::sluice, "GET", List.of("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"))))
                .isEqualTo("200 OK [content-length: 9] | body abc");
    }

    /** Lines Sluice adds to a head it forwards verbatim (the gateway's are Via, and Connection at times). */
    private static final String ADDED = "Via: 1.1 sluice\r\nConnection: close\r\n";

    @ParameterizedTest
    @ValueSource(strings = {
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A:  padded \t\r\n\r\nok",
        "HTTP/1.0 200 OK\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\nold!",
        "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nold!",
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nproxy-connection: x\r\nTE: trailers\r\nUpgrade: h2c\r\nVia: 1.0 cdn\r\nX-Empty:\r\n\r\n",
        "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCONNECTION: Keep-Alive, , CLOSE\r\nKeep-Alive: a\r\nKeep-Alive: b\r\n\r\nok",
        "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 503 Service Unavailable\r\nX-Latin: caf\u00e9\r\nContent-Length: 1\r\nHTTP2-Settings: AAA\r\nProxy-Authenticate: Basic\r\n\r\n!",
        // A response to HEAD: no body follows, whatever length it gives (or none).
        "HEAD HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: keep-alive\r\n\r\n",
        "HEAD HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
    })
    void aHeadForwardedVerbatimIsTheHeadItsMapDescribesLessHopByHopFields(String response) {
        String method = response.startsWith("HEAD ") ? "HEAD" : "GET";
        String bytes = response.substring(method.equals("HEAD") ? 5 : 0);
        HttpResponse original = (HttpResponse) first(run(() -> netty(), method, List.of(bytes)));
        ReceivedResponse head = (ReceivedResponse) first(run(ResponseDecoderTest::sluice, method, List.of(bytes)));
        assertThat(head.verbatim()).as(response).isTrue();
        assertThat(head.keepAlive()).as(response).isEqualTo(io.netty.handler.codec.http.HttpUtil.isKeepAlive(original));
        assertThat(head.keepAliveField()).isEqualTo(original.headers().get("keep-alive"));

        head.forwardVerbatim(ADDED.getBytes(StandardCharsets.US_ASCII));
        ByteBuf written = head.writeForwarded(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        String forwarded = written.toString(StandardCharsets.ISO_8859_1);
        written.release();
        assertThat(forwarded).startsWith("HTTP/1.1 " + original.status().code() + " ").endsWith("\r\n" + ADDED + "\r\n");
        assertThat(forwarded.toLowerCase()).doesNotContain("\nkeep-alive:", "\nproxy-connection:", "\nte:", "\nupgrade:",
                "\nhttp2-settings:", "\nproxy-authenticate:", "keep-alive, , close");
        // A recording's copy of the fields (RecordingCapture): the lines as forwarded, without making the map.
        assertThat(new String(head.fieldLines(), StandardCharsets.ISO_8859_1))
                .isEqualTo(forwarded.substring(forwarded.indexOf("\r\n") + 2, forwarded.length() - 2));
        assertThat(head.forwardedVerbatim()).isTrue();

        // What a client reads is what the map (made now, after forwarding began) says goes out.
        EmbeddedChannel client = new EmbeddedChannel(new io.netty.handler.codec.http.HttpResponseDecoder());
        client.writeInbound(Unpooled.copiedBuffer(forwarded, StandardCharsets.ISO_8859_1));
        HttpResponse read = client.readInbound();
        client.finishAndReleaseAll();
        assertThat(read.status()).isEqualTo(original.status());
        assertThat(fields(read)).isEqualTo(fields(head));
        assertThat(head.verbatim()).as("once its map is made, the map is what goes out").isFalse();
        assertThat(head.forwardedVerbatim()).isFalse();
        // ... and that map is the endpoint's fields in order, less the hop-by-hop ones, plus Sluice's.
        List<String> expected = new ArrayList<>(fields(original).stream().filter(f -> !HopByHop.is(f.substring(0, f.indexOf(':')))).toList());
        expected.add("Via: 1.1 sluice");
        expected.add("Connection: close");
        assertThat(fields(head)).isEqualTo(expected);
        assertThat(new String(head.fieldLines(), StandardCharsets.ISO_8859_1))
                .isEqualTo(expected.stream().map(f -> f + "\r\n").collect(java.util.stream.Collectors.joining()));
    }

    private static List<String> fields(HttpResponse response) {
        return response.headers().entries().stream().map(f -> f.getKey() + ": " + f.getValue()).toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nuntil the connection closes",
        "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n1",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection : close\r\n\r\n1",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: x-secret\r\nX-Secret: 1\r\n\r\n1",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\nClose: 1\r\n\r\n1",
        "HTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n",
    })
    void aHeadThatNeedsEditsBeyondDroppingLinesIsNotForwardedVerbatim(String response) {
        ReceivedResponse head = (ReceivedResponse) first(run(ResponseDecoderTest::sluice, "GET", List.of(response)));
        assertThat(head.verbatim()).as(response).isFalse();
    }

    @Test
    void aResponseToHeadWithATransferCodingIsNotForwardedVerbatim() {
        ReceivedResponse head = (ReceivedResponse) first(run(ResponseDecoderTest::sluice, "HEAD",
                List.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")));
        assertThat(head.verbatim()).isFalse();
        assertThat(head.headers().contains("transfer-encoding")).as("no chunks follow, so no coding is forwarded").isFalse();
    }

    /** The first message, the others (body parts) released. */
    private static Object first(List<Object> messages) {
        for (int i = 1; i < messages.size(); i++) {
            ReferenceCountUtil.release(messages.get(i));
        }
        return messages.get(0);
    }

    // ---- harness ----

    private static ChannelHandler[] sluice() {
        return new UpstreamCodec(HEAD_LIMIT, 64 * 1024).handlers();
    }

    private static ChannelHandler[] netty() {
        return new ChannelHandler[] {new HttpClientCodec(new HttpDecoderConfig().setMaxHeaderSize(HEAD_LIMIT)
                .setStrictLineParsing(true).setValidateHeaders(true), false, false)};
    }

    /** Sends one request with {@code method}, feeds the reads, closes; returns what came out. */
    private static List<Object> run(Supplier<ChannelHandler[]> codec, String method, List<String> reads) {
        EmbeddedChannel ch = new EmbeddedChannel(codec.get());
        ch.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), "/"));
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ReferenceCountUtil.release(o);
        }
        for (String read : reads) {
            ch.writeInbound(Unpooled.copiedBuffer(read, StandardCharsets.ISO_8859_1));
        }
        ch.finish();
        List<Object> out = new ArrayList<>();
        for (Object o; (o = ch.readInbound()) != null; ) {
            out.add(o);
        }
        return out;
    }

    /**
     * One line for what a listener receives: each head (status and fields in order), the body
     * bytes between heads joined, each end of a message, its trailers; FAILED where decoding
     * failed (and nothing after it).
     */
    private static String describe(List<Object> messages) {
        StringBuilder s = new StringBuilder();
        StringBuilder body = new StringBuilder();
        try {
            for (Object o : messages) {
                if (((HttpObject) o).decoderResult().isFailure()) {
                    flushBody(s, body);
                    append(s, "FAILED");
                    return s.toString();
                }
                if (o instanceof HttpResponse r) {
                    StringBuilder head = new StringBuilder(r.protocolVersion() == HttpVersion.HTTP_1_0 ? "1.0 " : "");
                    head.append(r.status().code()).append(' ').append(r.status().reasonPhrase()).append(" [");
                    for (Map.Entry<String, String> field : r.headers()) {
                        head.append(field.getKey().toLowerCase()).append(": ").append(field.getValue()).append(", ");
                    }
                    append(s, head.toString().replaceAll(", $", "") + "]");
                }
                if (o instanceof HttpContent c) {
                    ByteBuf content = c.content();
                    body.append(content.toString(StandardCharsets.ISO_8859_1));
                    if (o instanceof LastHttpContent last) {
                        flushBody(s, body);
                        append(s, "last" + (last.trailingHeaders().isEmpty() ? "" : " " + last.trailingHeaders().entries()));
                    }
                }
            }
            flushBody(s, body);
            return s.toString().replace(" []", "");
        } finally {
            messages.forEach(ReferenceCountUtil::release);
        }
    }

    private static void flushBody(StringBuilder s, StringBuilder body) {
        if (!body.isEmpty()) {
            append(s, "body " + body);
            body.setLength(0);
        }
    }

    private static void append(StringBuilder s, String part) {
        s.append(s.isEmpty() ? "" : " | ").append(part);
    }
}
