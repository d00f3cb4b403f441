package dev.sluice.testing;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;

/** Body parts for encoder tests, their text one byte per char (ISO-8859-1). */
public final class HttpParts {
    private HttpParts() {}

    public static HttpContent part(String text) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1));
    }

    public static LastHttpContent last(String text) {
        return new DefaultLastHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1));
    }

    /** An empty last part carrying one trailer field. */
    public static LastHttpContent trailers(String name, String value) {
        LastHttpContent last = new DefaultLastHttpContent();
        last.trailingHeaders().set(name, value);
        return last;
    }
}
