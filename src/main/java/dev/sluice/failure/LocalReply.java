package dev.sluice.failure;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

/**
 * The response Sluice itself sends when a request fails: the kind's status, an
 * {@code x-sluice-error} header naming the kind, and a short body a person can read. Responses
 * from a backend never carry the header, so a 502 in a log or a browser says who produced it.
 */
public final class LocalReply {
    public static final AsciiString ERROR_HEADER = AsciiString.cached("x-sluice-error");
    /** 1 s: long enough to let a shed burst pass, short enough not to strand a retrying client. */
    static final String RETRY_AFTER_SECONDS = "1";

    private LocalReply() {}

    /**
     * @param route the matched route's name, or null when no route matched
     * @param keepAlive whether the connection stays open after this reply
     */
    public static FullHttpResponse build(ByteBufAllocator alloc, FailureKind kind, String route, String requestId,
                                         boolean keepAlive) {
        return build(alloc, kind, ReplyFields.NONE, route, requestId, keepAlive);
    }

    /**
     * The reply with {@code fields} added (a {@code Retry-After} among them replaces the fixed one).
     *
     * @param route the matched route's name, or null when no route matched
     * @param keepAlive whether the connection stays open after this reply
     */
    public static FullHttpResponse build(ByteBufAllocator alloc, FailureKind kind, ReplyFields fields, String route,
                                         String requestId, boolean keepAlive) {
        String text = kind.label() + ": " + kind.explanation() + "\n"
                + "route: " + (route == null ? "-" : route) + "\n"
                + "request-id: " + requestId + "\n";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        ByteBuf body = alloc.buffer(bytes.length).writeBytes(bytes);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, kind.status(), body);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN + "; charset=utf-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length)
                .set(ERROR_HEADER, kind.label())
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        return withFields(response, kind, fields, keepAlive);
    }

    /**
     * The reply to a gRPC call ({@link GrpcStatus#requested}): what a gRPC server answers when it
     * fails a call before any message, status 200 with the {@code grpc-status} of {@code kind} and
     * a {@code grpc-message} naming it, no body (Trailers-Only over HTTP/2); {@code x-sluice-error}
     * and {@code fields} as in any reply.
     */
    public static FullHttpResponse grpc(ByteBufAllocator alloc, FailureKind kind, ReplyFields fields, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                io.netty.handler.codec.http.HttpResponseStatus.OK, alloc.buffer(0));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, GrpcStatus.CONTENT_TYPE)
                .set(GrpcStatus.STATUS, GrpcStatus.of(kind))
                .set(GrpcStatus.MESSAGE, GrpcStatus.message(kind))
                .set(ERROR_HEADER, kind.label())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        return withFields(response, kind, fields, keepAlive);
    }

    /**
     * What every reply carries beside its own fields: {@code Retry-After} for its kind, the
     * route's {@code fields}, and {@code Connection: close} when the connection ends.
     */
    private static FullHttpResponse withFields(FullHttpResponse response, FailureKind kind, ReplyFields fields,
                                               boolean keepAlive) {
        if (kind.hasRetryAfter()) {
            response.headers().set(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
        }
        for (int i = 0; i < fields.size(); i++) {
            response.headers().set(fields.name(i), fields.value(i));
        }
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return response;
    }
}
