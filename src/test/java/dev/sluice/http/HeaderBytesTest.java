package dev.sluice.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HeaderBytesTest {

    private static String written(HttpHeaders headers) {
        ByteBuf buf = Unpooled.buffer();
        try {
            HeaderBytes.write(headers, buf);
            return buf.toString(StandardCharsets.ISO_8859_1);
        } finally {
            buf.release();
        }
    }

    private static String requestLine(String target) {
        ByteBuf buf = HeaderBytes.requestHead(io.netty.buffer.ByteBufAllocator.DEFAULT,
                new io.netty.handler.codec.http.DefaultHttpRequest(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                        io.netty.handler.codec.http.HttpMethod.GET, target, new DefaultHttpHeaders()));
        try {
            String head = buf.toString(StandardCharsets.ISO_8859_1);
            return head.substring(0, head.indexOf("\r\n"));
        } finally {
            buf.release();
        }
    }

    @Test
    void anAbsoluteFormTargetWithNoPathGetsOneBeforeItsQueryOrFragment() {
        assertThat(requestLine("http://h")).isEqualTo("GET http://h/ HTTP/1.1");
        assertThat(requestLine("http://h?q=/x")).isEqualTo("GET http://h/?q=/x HTTP/1.1");
        // Found by ProxyDifferentialFuzzTest: the '/' went after the fragment, a target of its own.
        assertThat(requestLine("http://h#f")).isEqualTo("GET http://h/#f HTTP/1.1");
        assertThat(requestLine("http://h#f?x")).isEqualTo("GET http://h/#f?x HTTP/1.1");
        assertThat(requestLine("http://h#f/x")).isEqualTo("GET http://h/#f/x HTTP/1.1");
        assertThat(requestLine("http://h/p#f")).isEqualTo("GET http://h/p#f HTTP/1.1");
        assertThat(requestLine("/p?q")).isEqualTo("GET /p?q HTTP/1.1");
    }

    @Test
    void eachFieldIsNameColonSpaceValueCrlfInOrder() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add(AsciiString.cached("Host"), "shop.example")
                .add("X-Forwarded-For", new StringBuilder("203.0.113.7"))
                .add("x-empty", "")
                .add("Set-Cookie", "a=1")
                .add("Set-Cookie", "b=2");

        assertThat(written(headers)).isEqualTo(
                "Host: shop.example\r\nX-Forwarded-For: 203.0.113.7\r\nx-empty: \r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n");
        assertThat(written(new DefaultHttpHeaders())).isEmpty();
    }

    @Test
    void fieldsLargerThanTheScratchArrayComeOutWhole() {
        String big = "v".repeat(10_000);
        String bigger = "w".repeat(20_000);
        HttpHeaders headers = new DefaultHttpHeaders();
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 300; i++) { // ~6 KB of small fields before the big ones
            headers.add("x-field-" + i, "value-" + i);
            expected.append("x-field-").append(i).append(": value-").append(i).append("\r\n");
        }
        headers.add("x-big", big).add("x-bigger", bigger).add("x-after", "tail");
        expected.append("x-big: ").append(big).append("\r\n").append("x-bigger: ").append(bigger).append("\r\n")
                .append("x-after: tail\r\n");

        assertThat(written(headers)).isEqualTo(expected.toString());
        // And the thread's grown array still serves a small head afterwards.
        assertThat(written(new DefaultHttpHeaders().add("a", "b"))).isEqualTo("a: b\r\n");
    }

    @Test
    void valueBytesAboveAsciiAreKept() {
        assertThat(written(new DefaultHttpHeaders().add("x-name", "Jos\u00e9"))).isEqualTo("x-name: Jos\u00e9\r\n");
    }
}
