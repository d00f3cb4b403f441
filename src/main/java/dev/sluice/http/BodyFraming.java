package dev.sluice.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;

/** How a response's body is delimited (RFC 9112 §6.3). */
public final class BodyFraming {
    private BodyFraming() {}

    /** Whether a final response has no body at all: 204, 205, 304, or the answer to a HEAD. */
    public static boolean bodyless(int status, boolean answersHead) {
        return status == 204 || status == 205 || status == 304 || answersHead;
    }

    /**
     * Whether a final response's body ends only when its sender closes the connection: it has a
     * body, and neither chunked coding nor a Content-Length delimits it.
     */
    public static boolean closeDelimited(HttpResponse response, boolean answersHead) {
        return !bodyless(response.status().code(), answersHead) && !HttpUtil.isTransferEncodingChunked(response)
                && !response.headers().contains(HttpHeaderNames.CONTENT_LENGTH);
    }
}
