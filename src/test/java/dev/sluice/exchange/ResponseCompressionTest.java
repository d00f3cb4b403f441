package dev.sluice.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.CompressionConfig;
import dev.sluice.config.CompressionConfig.Encoding;
import dev.sluice.route.Compression;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** The compression decision on heads alone, the head's edits, and the body's encoder, without sockets. */
class ResponseCompressionTest {
    private static final Compression RULE = new Compression(CompressionConfig.DEFAULT);

    private static HttpRequest request(String acceptEncoding) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        if (acceptEncoding != null) {
            r.headers().set("accept-encoding", acceptEncoding);
        }
        return r;
    }

    private static HttpResponse response(int status, String... nameValues) {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
        for (int i = 0; i < nameValues.length; i += 2) {
            r.headers().add(nameValues[i], nameValues[i + 1]);
        }
        return r;
    }

    private static ResponseCompression.Decision decide(String accept, HttpResponse response) {
        return ResponseCompression.decide(RULE, request(accept), response, false, true);
    }

    @Test
    void aCompressibleResponseIsCompressedWithTheClientsChoice() {
        HttpResponse html = response(200, "content-type", "text/html", "content-length", "5000");
        assertThat(decide("gzip", html)).isEqualTo(new ResponseCompression.Compress(Encoding.GZIP));
        assertThat(decide("gzip, br", html)).isEqualTo(new ResponseCompression.Compress(Encoding.BR));
        assertThat(decide("gzip", response(200, "content-type", "text/plain"))).as("unknown length")
                .isInstanceOf(ResponseCompression.Compress.class);
    }

    @Test
    void aCompressibleResponseForAClientThatTakesNoneIsIdentityWithVary() {
        HttpResponse html = response(200, "content-type", "text/html");
        assertThat(decide(null, html)).isInstanceOf(ResponseCompression.Identity.class);
        assertThat(decide("identity", html)).isInstanceOf(ResponseCompression.Identity.class);
        assertThat(ResponseCompression.decide(RULE, request("gzip"), html, false, false))
                .isInstanceOf(ResponseCompression.Identity.class);
        assertThat(decide(null, html).editsHead()).isTrue();
    }

    @Test
    void eachExclusionLeavesTheResponseAsItCame() {
        String[] text = {"content-type", "text/plain"};
        assertThat(ResponseCompression.decide(RULE, request("gzip"), response(200, text), true, true))
                .isInstanceOf(ResponseCompression.AsItIs.class);
        for (int status : new int[] {204, 205, 206, 304}) {
            assertThat(decide("gzip", response(status, text))).as("%d", status).isInstanceOf(ResponseCompression.AsItIs.class);
        }
        assertThat(decide("gzip", response(200, "content-type", "text/plain", "content-encoding", "br")))
                .isInstanceOf(ResponseCompression.AsItIs.class);
        assertThat(decide("gzip", response(200, "content-type", "text/plain", "cache-control", "max-age=60, no-transform")))
                .isInstanceOf(ResponseCompression.AsItIs.class);
        assertThat(decide("gzip", response(200, "content-type", "text/plain", "content-length", "1023")))
                .isInstanceOf(ResponseCompression.AsItIs.class);
        assertThat(decide("gzip", response(200, "content-type", "text/plain", "content-length", "1024")))
                .isInstanceOf(ResponseCompression.Compress.class);
        assertThat(decide("gzip", response(200, "content-type", "video/mp4"))).isInstanceOf(ResponseCompression.AsItIs.class);
        assertThat(decide("gzip", response(200))).isInstanceOf(ResponseCompression.AsItIs.class);
        assertThat(decide("gzip", response(200)).editsHead()).isFalse();
    }

    @Test
    void theCompressedHeadLosesItsLengthAndRangesAndWeakensItsETag() {
        HttpHeaders h = new DefaultHttpHeaders().add("content-length", "5000").add("accept-ranges", "bytes")
                .add("etag", "\"abc\"").add("vary", "Origin");
        ResponseCompression.compressedHead(h, Encoding.GZIP);
        assertThat(h.get("content-encoding")).isEqualTo("gzip");
        assertThat(h.contains("content-length")).isFalse();
        assertThat(h.contains("accept-ranges")).isFalse();
        assertThat(h.get("etag")).isEqualTo("W/\"abc\"");
        assertThat(h.getAll("vary")).containsExactly("Origin", "Accept-Encoding");

        HttpHeaders weak = new DefaultHttpHeaders().add("etag", "W/\"abc\"").add("vary", "accept-encoding, origin");
        ResponseCompression.compressedHead(weak, Encoding.BR);
        assertThat(weak.get("etag")).isEqualTo("W/\"abc\"");
        assertThat(weak.getAll("vary")).containsExactly("accept-encoding, origin");
        HttpHeaders star = new DefaultHttpHeaders().add("vary", "*");
        ResponseCompression.varyOnAcceptEncoding(star);
        assertThat(star.getAll("vary")).containsExactly("*");
    }

    @Test
    void theGzipEncoderStreamsBurstByBurstAndEachBurstDecodes() throws IOException {
        BodyCompressor gzip = BodyCompressor.of(Encoding.GZIP, RULE, PooledByteBufAllocator.DEFAULT);
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        byte[] first = "first burst of text, first burst of text".getBytes(StandardCharsets.US_ASCII);
        ByteBuf part = Unpooled.wrappedBuffer(first);
        gzip.write(part);
        part.release();
        drain(gzip.flush(), sent);
        assertThat(sent.size()).as("a sync flush sends what was written").isPositive();
        ByteBuf second = Unpooled.copiedBuffer(" and the rest", StandardCharsets.US_ASCII);
        gzip.write(second);
        second.release();
        drain(gzip.finish(), sent);
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(sent.toByteArray()))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("first burst of text, first burst of text and the rest");
        }
    }

    @Test
    void aDiscardedEncoderReleasesWhatItGathered() {
        for (Encoding encoding : Encoding.values()) {
            BodyCompressor c = BodyCompressor.of(encoding, RULE, PooledByteBufAllocator.DEFAULT);
            ByteBuf part = Unpooled.wrappedBuffer(new byte[64 * 1024]);
            c.write(part);
            part.release();
            c.discard(); // the leak detector (PARANOID) fails the class if a gathered buffer is left
            assertThat(c.take().readableBytes()).isZero();
        }
    }

    private static void drain(ByteBuf buf, ByteArrayOutputStream out) {
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        buf.release();
        out.writeBytes(bytes);
    }
}
