package dev.sluice.server;

import dev.sluice.failure.FailureKind;
import dev.sluice.failure.GrpcStatus;
import dev.sluice.failure.LocalReply;
import dev.sluice.failure.ReplyFields;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * The HEADERS frame with END_STREAM that ends a gRPC call Sluice failed, on an HTTP/2 stream: a
 * gRPC client reads the outcome of a call from {@code grpc-status} and {@code grpc-message}
 * alone, so that is where the failure kind goes ({@link GrpcStatus}), with {@code x-sluice-error}.
 *
 * <p>Before the response began, the frame is the whole answer (gRPC's Trailers-Only). After the
 * endpoint's head went out, the endpoint's cut (its connection closed or its stream reset in the
 * middle of the body, a malformed chunk, the client's body timing out) ends the call with these
 * trailers instead of a RST_STREAM, which clients can only report as {@code INTERNAL} or
 * {@code CANCELLED}, the kind lost. The messages that arrived whole have been delivered by then.
 * A cut in the middle of a message ends it the same way: grpc-java drops the partial message and
 * reports the trailers' status (its deframer calls a partial message an error only when the
 * status is OK); grpc-go reports {@code INTERNAL} "unexpected EOF" there, as it would for a reset,
 * so the trailers lose nothing against a RST_STREAM either way.
 */
final class GrpcStatusFrames {
    private GrpcStatusFrames() {}

    /** Sluice's reply to a call with no response yet ({@link LocalReply#grpc}), as one HEADERS frame. */
    static Http2HeadersFrame trailersOnly(ByteBufAllocator alloc, FailureKind kind, ReplyFields fields) {
        FullHttpResponse response = LocalReply.grpc(alloc, kind, fields, true);
        Http2Headers h2 = HttpConversionUtil.toHttp2Headers(response, false);
        h2.status(response.status().codeAsText());
        h2.remove(HttpHeaderNames.CONTENT_LENGTH);
        response.release();
        return new DefaultHttp2HeadersFrame(h2, true);
    }

    /**
     * The end of a gRPC response the endpoint began and could not finish: its trailers, or, when
     * its head was still held ({@code heldHead}, not yet written), that head with the status in it.
     */
    static Http2HeadersFrame cut(Http2Headers heldHead, FailureKind kind) {
        Http2Headers fields = heldHead != null ? heldHead : new DefaultHttp2Headers(false);
        fields.set(GrpcStatus.STATUS, Integer.toString(GrpcStatus.of(kind)))
                .set(GrpcStatus.MESSAGE, GrpcStatus.message(kind))
                .set(LocalReply.ERROR_HEADER, kind.label());
        return new DefaultHttp2HeadersFrame(fields, true);
    }
}
