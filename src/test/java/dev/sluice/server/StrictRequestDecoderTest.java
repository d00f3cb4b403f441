package dev.sluice.server;

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
    void foldingSplitAcrossPacketsIsRejected() {
        assertThat(failed(decode("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n", " two\r\n\r\n"))).isTrue();
    }

    @Test
    void spacesInsideABodyAreNotMistakenForFolding() {
        List<HttpObject> out = decode("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\nab\r\n  cd");
        assertThat(failed(out)).isFalse();
    }

    @Test
    void blankLinesBeforeTheRequestLineAreTolerated() {
        assertThat(failed(decode("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"))).isFalse();
        assertThat(failed(decode("\r\nGET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"))).isTrue();
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
            for (String head : List.of("X-A" + c + "B: v\r\n", c + "X: v\r\n", "X-A: v" + c + "w\r\n", "X-A: " + c + "\r\n",
                    "X-A:" + c + "v\r\n")) {
                String request = "GET / HTTP/1.1\r\nHost: h\r\n" + head + "\r\n";
                assertThat(verdict(decode(request))).as("byte 0x%02x in %s", b, head.trim()).isEqualTo(verdict(decode(request.substring(0, 5), request.substring(5))));
            }
        }
    }

    /** "failed", or the request's fields as decoded. */
    private static String verdict(List<HttpObject> objects) {
        String fields = objects.stream().filter(o -> o instanceof HttpRequest).map(o -> ((HttpRequest) o).headers().entries().toString())
                .findFirst().orElse("no request");
        return failed(objects) ? "failed" : fields;
    }
}
