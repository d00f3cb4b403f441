package dev.sluice.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The decoder on its own: which heads are accepted and which are marked failed. */
class StrictRequestDecoderTest {
    private final List<Boolean> partial = new ArrayList<>();

    private List<HttpObject> decode(String... packets) {
        EmbeddedChannel ch = new EmbeddedChannel(new StrictRequestDecoder(StrictRequestDecoder.config(8192, 8192, 8192),
                () -> partial.add(true)));
        for (String p : packets) {
            ch.writeInbound(Unpooled.copiedBuffer(p, StandardCharsets.ISO_8859_1));
        }
        List<HttpObject> out = new ArrayList<>();
        Object o;
        while ((o = ch.readInbound()) != null) {
            out.add((HttpObject) o);
        }
        ch.finishAndReleaseAll();
        return out;
    }

    private static boolean failed(List<HttpObject> objects) {
        boolean failed = objects.stream().anyMatch(o -> o.decoderResult().isFailure());
        objects.forEach(ReferenceCountUtil::release);
        return failed;
    }

    @Test
    void wellFormedPipelinedRequestsDecode() {
        List<HttpObject> out = decode("GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
        assertThat(out).filteredOn(o -> o instanceof HttpRequest).hasSize(2);
        assertThat(out).filteredOn(o -> o instanceof LastHttpContent).hasSize(2);
        assertThat(failed(out)).isFalse();
    }

    @Test
    void obsoleteLineFoldingIsRejected() {
        assertThat(failed(decode("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n"))).isTrue();
        assertThat(failed(decode("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n\ttwo\r\n\r\n"))).isTrue();
    }

    @Test
    void foldingAfterALineThatStartsWithABareCrIsRejectedInOnePacketToo() {
        // Found by RequestDecodingFuzzTest: the scan took a line starting with a bare CR for the
        // blank line that ends the head and never saw the fold after it.
        assertThat(failed(decode("GET / HTTP/1.1\r\nHost: h\r\n\rX-A: one\r\n\ttwo\r\n\r\n"))).isTrue();
        assertThat(failed(decode("GET / HTTP/1.1\r\nHost: h\r\n\rX-A: one\r\n\ttwo\r\nX-B"))).isTrue();
    }

    @Test
    void foldingSplitAcrossPacketsIsRejected() {
        assertThat(failed(decode("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n", " two\r\n\r\n"))).isTrue();
    }

    @Test
    void spacesInsideABodyAreNotMistakenForFolding() {
        List<HttpObject> out = decode("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\nab\r\n  cd");
        assertThat(failed(out)).isFalse();
    }

    @Test
    void aRequestLineAtTheLimitReadsTheSameWhereverThePacketsAreCut() {
        // Found by RequestDecodingFuzzTest: Netty counted a CR whose LF had not come yet against
        // the limit, so a request line of exactly max_request_line was "too long" when cut there.
        String line = "GET /" + "a".repeat(8192 - 14) + " HTTP/1.1";
        assertThat(line).hasSize(8192);
        assertThat(failed(decode(line + "\r\nHost: h\r\n\r\n"))).isFalse();
        assertThat(failed(decode(line + "\r", "\nHost: h\r\n\r\n"))).isFalse();
        assertThat(failed(decode(line + "\r\n", "Host: h\r\n\r\n"))).as("cut after its LF").isFalse();
        assertThat(failed(decode(line + "\r\nHo", "st: h\r\n\r\n"))).as("cut in the next line").isFalse();
        assertThat(partial).as("a head under way while its LF is awaited").isNotEmpty();
        assertThat(failed(decode(line + "a\r", "\nHost: h\r\n\r\n"))).as("one byte more").isTrue();
    }

    @Test
    void aHeadEndingInCrIsDecodedUpToItAsIfTheCrHadNotComeYet() {
        // Found by RequestDecodingFuzzTest: the whole head waited for the LF of its last CR, so a
        // bad request line was refused at once when its bytes came one at a time, but not when
        // they came in one packet ending in CR (the head's last line not ended yet).
        assertThat(failed(decode("GET / HTtttP/1.1\r\nHost: a\r\nX-A: b\r"))).isTrue();
        assertThat(failed(decode("GET / HTtttP/1.1\r\n", "Host: a\r\nX-A: b\r"))).isTrue();

        // A body that ends in CR, in the packet of its head: the request is whole, nothing waits.
        List<HttpObject> out = decode("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab\r\n\r");
        assertThat(out).filteredOn(o -> o instanceof LastHttpContent).hasSize(1);
        assertThat(out.stream().filter(o -> o instanceof HttpContent)
                .map(o -> ((HttpContent) o).content().toString(StandardCharsets.ISO_8859_1)).reduce("", String::concat))
                .isEqualTo("ab\r\n");
        assertThat(failed(out)).isFalse();
        // ... and the CR after it is the next head's, held: a pipelined request that follows decodes whole.
        out = decode("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab\r", "\nGET /n HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(out).filteredOn(o -> o instanceof HttpRequest).extracting(o -> ((HttpRequest) o).uri())
                .containsExactly("/", "/n");
        assertThat(failed(out)).isFalse();
    }

    @Test
    void blankLinesBeforeTheRequestLineAreTolerated() {
        assertThat(failed(decode("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"))).isFalse();
        assertThat(failed(decode("\r\nGET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"))).isTrue();
    }

    @Test
    void blankLinesBeyondTheRequestLineLimitAreRefusedWhereverThePacketsAreCut() {
        // Found by RequestDecodingFuzzTest: Netty skipped them itself but counted them only within
        // one read, so more than max_request_line of them were refused 414 in one packet and
        // skipped without end when they came in several.
        String request = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        String tooMany = "\r\n".repeat(4096) + "\r";
        assertThat(refusedAsTooLong(decode(tooMany + request))).as("in one packet").isTrue();
        assertThat(refusedAsTooLong(decode(tooMany.substring(0, 4000), tooMany.substring(4000), request))).as("cut").isTrue();
        assertThat(refusedAsTooLong(decode(tooMany.substring(0, 4000), tooMany.substring(4000)))).as("before any request line").isTrue();

        String atTheLimit = "\r\n".repeat(4096);
        assertThat(failed(decode(atTheLimit + request))).isFalse();
        assertThat(failed(decode(atTheLimit.substring(0, 4001), atTheLimit.substring(4001), request))).isFalse();
        // Counted before each request anew, not over the connection.
        assertThat(failed(decode(atTheLimit + request + atTheLimit + request))).isFalse();
    }

    private static boolean refusedAsTooLong(List<HttpObject> objects) {
        boolean tooLong = objects.size() == 1 && objects.getFirst().decoderResult().cause()
                instanceof io.netty.handler.codec.http.TooLongHttpLineException;
        objects.forEach(ReferenceCountUtil::release);
        return tooLong;
    }

    /** RFC 9112 §3: single spaces only; what a lenient parser splits on as well is what smuggling uses. */
    private static final List<String> MALFORMED_REQUEST_LINES = List.of(
            "GET /caf\u00c3\u00a9 HTTP/1.1", // UTF-8 bytes: the request line is ASCII (found by ProxyDifferentialFuzzTest)
            "GET\t/ HTTP/1.1",
            "GET /\tHTTP/1.1",
            "GET  / HTTP/1.1",
            "GET /  HTTP/1.1",
            " GET / HTTP/1.1",
            "\tGET / HTTP/1.1",
            "GET / HTTP/1.1 ",
            "GET / HTTP/1.1\t",
            "GET\u000b/ HTTP/1.1",
            "GET /\u000cHTTP/1.1",
            "GET /\rHTTP/1.1",
            "GET /a b HTTP/1.1",
            "GET /",
            "GET / HTTP/1.1\u0000",
            // The version exactly (RFC 9112 §2.3): Netty read these as 1.0 that keeps its
            // connection alive by default (found by ProxyDifferentialFuzzTest).
            "GET / HTtP/1.0",
            "GET / http/1.1",
            "GET / HTTP/01.0",
            "GET / HTTP/1.00",
            "GET / HTTP/1",
            "GET / HTTP/1.x");

    @Test
    void aRequestLineWithWhitespaceOtherThanSingleSpacesIsRejected() {
        for (String line : MALFORMED_REQUEST_LINES) {
            List<HttpObject> out = decode(line + "\r\nHost: h\r\n\r\n");
            assertThat(out).as(line).hasSize(1);
            assertThat(out.get(0).decoderResult().cause()).as(line).hasMessageContaining("RFC 9112 §3");
            assertThat(failed(out)).as(line).isTrue();
        }
    }

    @Test
    void aMalformedRequestLineIsRejectedWhereverThePacketsSplitIt() {
        for (String line : MALFORMED_REQUEST_LINES) {
            String request = line + "\r\nHost: h\r\n\r\n";
            for (int cut = 1; cut < request.length(); cut++) {
                String split = request.substring(0, cut) + "|" + request.substring(cut);
                assertThat(failed(decode(request.substring(0, cut), request.substring(cut)))).as(split).isTrue();
            }
        }
    }

    @Test
    void aMalformedRequestLineAfterAGoodRequestOnTheSameConnectionIsRejected() {
        for (String second : List.of("GET\t/b HTTP/1.1", "GET /b HTTP/1.1 ")) {
            List<HttpObject> out = decode("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                    + second + "\r\nHost: h\r\n\r\n");

            assertThat(requests(out)).as(second).startsWith("POST /a HTTP/1.1 [Host=h][Content-Length=3] end3\n")
                    .endsWith("failed GET /bad-request HTTP/1.1  end0\n");
        }
    }

    @Test
    void headArrivingInPiecesIsReportedAsPartial() {
        List<HttpObject> out = decode("GET / HTTP/1.1\r\nHo", "st: h\r\n\r\n");
        assertThat(partial).isNotEmpty();
        assertThat(failed(out)).isFalse();
    }

    @Test
    void afterARejectionNothingMoreIsDecoded() {
        List<HttpObject> out = decode("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(out).filteredOn(o -> o instanceof HttpRequest).hasSize(1);
        assertThat(out).filteredOn(o -> o instanceof HttpContent && !(o instanceof HttpRequest)).isEmpty();
        assertThat(failed(out)).isTrue();
    }

    /**
     * The scan that lets a whole, well-formed head skip Netty's second validation must never
     * accept a byte Netty's validation rejects: every byte value, in a field name and in a field
     * value, with the head in one packet, gets the verdict and the fields it gets when the head
     * comes in two packets (which the scan leaves to Netty's validation).
     */
    @Test
    void everyByteInANameOrValueGetsNettysVerdict() {
        for (int b = 0; b < 256; b++) {
            String c = String.valueOf((char) b);
            for (String request : List.of(
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A" + c + "B: v\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: h\r\n" + c + "X: v\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A: v" + c + "w\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A: " + c + "\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A:" + c + "v\r\n\r\n",
                    "GET /a" + c + "b HTTP/1.1\r\nHost: h\r\n\r\n",
                    "G" + c + "T / HTTP/1.1\r\nHost: h\r\n\r\n",
                    "GET " + c + " HTTP/1.1\r\nHost: h\r\n\r\n",
                    "GET / HTTP/1." + c + "\r\nHost: h\r\n\r\n",
                    "GET /" + c + "HTTP/1.1\r\nHost: h\r\n\r\n",
                    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nX-A: v" + c + "w\r\n\r\nx",
                    "POST / HTTP/1.1\r\nHost: h\r\nX" + c + "A: v\r\nContent-Length: 1\r\n\r\nx")) {
                String head = request.replace("\r\n", "|");
                assertThat(verdict(decode(request))).as("byte 0x%02x in %s", b, head.trim()).isEqualTo(verdict(decode(request.substring(0, 5), request.substring(5))));
            }
        }
    }

    /**
     * Common requests are decoded by Sluice, not Netty, when their head arrives whole: each must
     * come out exactly as Netty decodes it (method, target, version, every field as spelled),
     * followed by an empty end; pipelined ones each in turn.
     */
    @Test
    void wholeBodylessHeadsDecodeAsNettyDecodesThem() {
        List<String> requests = List.of(
                "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /search?q=a+b&x=%20 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
                "HEAD /x HTTP/1.0\r\n\r\n",
                "DELETE /item/7 HTTP/1.1\r\nhost: h\r\nCONNECTION: keep-alive, x-a\r\nx-a: 1\r\n\r\n",
                "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET http://h/abs?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Pad: \t spaced out \t\r\nCookie: a=1; b=2\r\nCookie: c=3\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: h\r\nX-Latin: caf\u00e9 \u00ff\r\n\r\n",
                "\r\n\r\nGET /after-blank-lines HTTP/1.1\r\nHost: h\r\n\r\n",
                "PATCH /p HTTP/1.1\r\nHost: h\r\n\r\nPUT /q HTTP/1.1\r\nHost: h\r\n\r\nGET /r HTTP/1.1\r\nHost: h\r\n\r\n");
        for (String request : requests) {
            String whole = requests(decode(request));
            assertThat(whole).as(request).isEqualTo(requests(decode(request.substring(0, 1), request.substring(1))))
                    .doesNotContain("failed");
        }
    }

    @Test
    void onlyAHeadThatNeedsNoEditButDroppedLinesAndAddedOnesIsForwardedFromItsBytes() {
        String plain = "GET /p HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, close\r\nTE: trailers\r\nIdempotency-Key: k\r\n\r\n";
        dev.sluice.http.ReceivedRequest ok = received(plain);
        assertThat(ok.verbatim()).isTrue();
        assertThat(ok.keepAlive()).isFalse();
        assertThat(ok.hasIdempotencyKey()).isTrue();
        assertThat(ok.host()).isEqualTo("h");
        assertThat(ok.hostCount()).isEqualTo(1);
        assertThat(ok.fieldCount()).isEqualTo(4);
        for (String request : List.of(
                "GET /p HTTP/1.1\r\nHost: h\r\nx-FORWARDED-for: 1.2.3.4\r\n\r\n",
                "GET /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n",
                "GET /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-Host: other\r\n\r\n",
                "GET /p HTTP/1.1\r\nHost: h\r\nX-Request-Id: abc\r\n\r\n",
                "GET /p HTTP/1.1\r\nHost: h\r\nexpect: 100-continue\r\n\r\n",
                "GET /p HTTP/1.1\r\nHost: h\r\nConnection: close\r\nClose: 1\r\n\r\n",
                "GET /p HTTP/1.1\r\nHost: h\r\nConnection: x-foo\r\nX-Foo: 1\r\n\r\n",
                "GET /p HTTP/1.0\r\nX-A: 1\r\n\r\n",
                "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET http://h/p HTTP/1.1\r\nHost: h\r\n\r\n")) {
            assertThat(received(request).verbatim()).as(request).isFalse();
        }
        // Its map, made after forwarding began, is what goes out: the added lines in, the dropped ones out.
        ok.forwardVerbatim("Via: 1.1 sluice\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(ok.headers().names()).containsExactlyInAnyOrder("Host", "Idempotency-Key", "Via");
        assertThat(ok.forwardedVerbatim()).isFalse();
    }

    private dev.sluice.http.ReceivedRequest received(String request) {
        List<HttpObject> objects = decode(request);
        objects.subList(1, objects.size()).forEach(ReferenceCountUtil::release);
        return (dev.sluice.http.ReceivedRequest) objects.get(0);
    }

    /** Each decoded message: a request as method, target, version and fields; "end" for each last content. */
    private static String requests(List<HttpObject> objects) {
        StringBuilder s = new StringBuilder();
        for (HttpObject o : objects) {
            if (o.decoderResult().isFailure()) {
                s.append("failed ");
            }
            if (o instanceof HttpRequest r) {
                s.append(r.method()).append(' ').append(r.uri()).append(' ').append(r.protocolVersion()).append(' ');
                r.headers().iteratorCharSequence().forEachRemaining(f -> s.append('[').append(f.getKey()).append('=')
                        .append(f.getValue()).append(']'));
            }
            if (o instanceof LastHttpContent last) {
                s.append(" end").append(last.content().readableBytes()).append('\n');
            }
        }
        objects.forEach(ReferenceCountUtil::release);
        return s.toString();
    }

    /** "failed", or the request's fields as decoded. */
    private static String verdict(List<HttpObject> objects) {
        String fields = objects.stream().filter(o -> o instanceof HttpRequest).map(o -> ((HttpRequest) o).headers().entries().toString())
                .findFirst().orElse("no request");
        return failed(objects) ? "failed" : fields;
    }
}
