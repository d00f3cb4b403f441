package dev.sluice.upstream;

import static dev.sluice.testing.HttpParts.last;
import static dev.sluice.testing.HttpParts.part;
import static dev.sluice.testing.HttpParts.trailers;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The bytes Sluice sends an endpoint for a request: the same as Netty's request encoder writes
 * for every request shape a client can send through it (Sluice's encoder replaced that one).
 */
class RequestEncoderTest {
    @Test
    void headsAndBodiesAreTheBytesNettysEncoderWrites() {
        List<Supplier<List<Object>>> requests = List.of(
                () -> List.of(get("/path?q=1"), LastHttpContent.EMPTY_LAST_CONTENT),
                () -> List.of(get("http://example.com"), LastHttpContent.EMPTY_LAST_CONTENT),
                () -> List.of(get("http://example.com?x=1"), LastHttpContent.EMPTY_LAST_CONTENT),
                () -> List.of(get("http://example.com/a/b?x=/"), LastHttpContent.EMPTY_LAST_CONTENT),
                () -> List.of(get("*"), LastHttpContent.EMPTY_LAST_CONTENT),
                () -> List.of(withHeader(post("/p"), "content-length", "11"), part("hello "), last("world")),
                () -> List.of(withHeader(post("/c"), "transfer-encoding", "chunked"), part("hello"), part(""),
                        part(" world"), trailers("X-Checksum", "abc")),
                () -> List.of(withHeader(post("/c"), "transfer-encoding", "chunked"), last("all at once")),
                () -> List.of(withHeader(post("/c"), "transfer-encoding", "chunked"), LastHttpContent.EMPTY_LAST_CONTENT),
                () -> List.of(withHeader(get("/latin"), "x-latin", "caf\u00e9"), LastHttpContent.EMPTY_LAST_CONTENT));
        for (Supplier<List<Object>> request : requests) {
            String netty = encode(new EmbeddedChannel(new HttpRequestEncoder()), request.get());
            String sluice = encode(new EmbeddedChannel(new UpstreamCodec(8192, 65536).handlers()), request.get());
            assertThat(sluice).isEqualTo(netty);
        }
    }

    @Test
    void aLargeHeadGrowsTheScratchSpaceAndComesOutWhole() {
        HttpRequest request = get("/big");
        for (int i = 0; i < 40; i++) {
            request.headers().add("x-field-" + i, "v".repeat(500));
        }
        HttpRequest copy = get("/big");
        copy.headers().set(request.headers());
        String netty = encode(new EmbeddedChannel(new HttpRequestEncoder()), List.of(request, LastHttpContent.EMPTY_LAST_CONTENT));
        String sluice = encode(new EmbeddedChannel(new UpstreamCodec(8192, 65536).handlers()), List.of(copy, LastHttpContent.EMPTY_LAST_CONTENT));
        assertThat(sluice).hasSizeGreaterThan(20_000).isEqualTo(netty);
    }

    private static String encode(EmbeddedChannel channel, List<Object> parts) {
        for (Object part : parts) {
            channel.writeOutbound(part);
        }
        StringBuilder bytes = new StringBuilder();
        for (Object o; (o = channel.readOutbound()) != null; ) {
            ByteBuf buf = (ByteBuf) o;
            bytes.append(buf.toString(StandardCharsets.ISO_8859_1));
            buf.release();
        }
        channel.finishAndReleaseAll();
        return bytes.toString();
    }

    private static HttpRequest get(String uri) {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
    }

    private static HttpRequest post(String uri) {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri);
    }

    private static HttpRequest withHeader(HttpRequest request, String name, String value) {
        request.headers().set("host", "backend").set(name, value);
        return request;
    }
}
