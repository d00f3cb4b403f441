package dev.sluice.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.net.URI;

/**
 * One HTTP/2 stream to an endpoint, in the objects the exchange reads and writes over HTTP/1.1:
 * a request head becomes HEADERS ({@code :method}, {@code :scheme}, {@code :path}, and
 * {@code :authority} from {@code Host}; the connection-specific fields left out, RFC 9113
 * §8.2.2), body parts DATA, a last part's trailers a closing HEADERS; the endpoint's HEADERS
 * become a response head (1xx ones interim heads), its DATA body parts, its trailers the last
 * part's. A response that is its head alone (END_STREAM on HEADERS, gRPC's "Trailers-Only")
 * becomes the head and an empty last part.
 *
 * <p>First in the stream's child channel, ahead of its {@link UpstreamConnection}. The endpoint
 * refusing the stream unprocessed (a GOAWAY whose last stream id is below it, or RST_STREAM
 * REFUSED_STREAM: RFC 9113 §8.7) is passed on as {@link #REFUSED}, so the request can be sent
 * again whatever its method.
 */
final class Http2StreamCodec extends ChannelDuplexHandler {
    /** The endpoint did not process the stream: see {@link UpstreamConnection#streamRefused}. */
    static final Exception REFUSED = new StreamRefused();
    private static final AsciiString TRAILERS = AsciiString.cached("trailers");

    private final boolean secure;
    /** The request was its head alone: HEADERS went with END_STREAM, and its empty last part adds nothing. */
    private boolean requestEnded;
    /** The final response head came: a HEADERS frame after it is the trailers. */
    private boolean finalHeadSeen;

    /** @param secure the connection is TLS: {@code :scheme} https */
    Http2StreamCodec(boolean secure) {
        this.secure = secure;
    }

    // The request, Sluice → endpoint.

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpRequest request) {
            boolean bodyless = !(msg instanceof HttpContent) && !HttpUtil.isTransferEncodingChunked(request)
                    && HttpUtil.getContentLength(request, 0L) == 0;
            Http2Headers head;
            try {
                head = head(request);
            } catch (RuntimeException e) {
                ReferenceCountUtil.release(msg);
                promise.setFailure(e);
                return;
            }
            requestEnded = bodyless;
            if (msg instanceof HttpContent content) {
                ctx.write(new DefaultHttp2HeadersFrame(head, false), ctx.voidPromise());
                content(ctx, content, promise);
            } else {
                ctx.write(new DefaultHttp2HeadersFrame(head, bodyless), promise);
            }
        } else if (msg instanceof HttpContent content) {
            content(ctx, content, promise);
        } else {
            ctx.write(msg, promise);
        }
    }

    private void content(ChannelHandlerContext ctx, HttpContent content, ChannelPromise promise) {
        ByteBuf data = content.content();
        if (requestEnded) {
            // The end of a bodyless request, already said by its HEADERS.
            content.release();
            promise.trySuccess();
            return;
        }
        if (!(content instanceof LastHttpContent last)) {
            if (data.isReadable()) {
                ctx.write(new DefaultHttp2DataFrame(data, false), promise);
            } else {
                content.release();
                promise.trySuccess();
            }
            return;
        }
        requestEnded = true;
        if (last.trailingHeaders().isEmpty()) {
            ctx.write(new DefaultHttp2DataFrame(data, true), promise);
            return;
        }
        if (data.isReadable()) {
            ctx.write(new DefaultHttp2DataFrame(data.retain(), false), ctx.voidPromise());
        }
        Http2Headers trailers = new DefaultHttp2Headers(false);
        HttpConversionUtil.toHttp2Headers(last.trailingHeaders(), trailers);
        content.release();
        ctx.write(new DefaultHttp2HeadersFrame(trailers, true), promise);
    }

    /**
     * The request's HEADERS. {@code te: trailers} is sent whatever the client said (it is
     * hop-by-hop, so it was removed): Sluice passes trailers on, and gRPC servers require it.
     */
    private Http2Headers head(HttpRequest request) {
        HttpHeaders fields = request.headers();
        String uri = request.uri();
        String authority = fields.get(HttpHeaderNames.HOST);
        String path = uri;
        if (!uri.startsWith("/") && !"*".equals(uri)) {
            // The absolute form (RFC 9112 §3.2.2): its authority stands in for a missing Host.
            URI target = URI.create(uri);
            path = target.getRawPath() == null || target.getRawPath().isEmpty() ? "/" : target.getRawPath();
            if (target.getRawQuery() != null) {
                path = path + "?" + target.getRawQuery();
            }
            if (authority == null) {
                authority = target.getRawAuthority();
            }
        }
        Http2Headers head = new DefaultHttp2Headers(false)
                .method(request.method().asciiName())
                .scheme(secure ? "https" : "http")
                .path(path);
        if (authority != null) {
            head.authority(authority);
        }
        HttpConversionUtil.toHttp2Headers(fields, head);
        head.set(HttpHeaderNames.TE, TRAILERS);
        return head;
    }

    // The response, endpoint → Sluice.

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame frame) {
            headers(ctx, frame);
        } else if (msg instanceof Http2DataFrame frame) {
            ByteBuf data = frame.content();
            if (frame.isEndStream()) {
                ctx.fireChannelRead(new DefaultLastHttpContent(data));
            } else if (data.isReadable()) {
                ctx.fireChannelRead(new DefaultHttpContent(data));
            } else {
                frame.release();
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void headers(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
        Http2Headers fields = frame.headers();
        int streamId = frame.stream() == null ? 0 : frame.stream().id();
        if (finalHeadSeen) {
            LastHttpContent end = new DefaultLastHttpContent();
            try {
                HttpConversionUtil.addHttp2ToHttpHeaders(streamId, fields, end.trailingHeaders(), HttpVersion.HTTP_1_1,
                        true, false);
            } catch (Http2Exception e) {
                end.setDecoderResult(DecoderResult.failure(e));
            }
            ctx.fireChannelRead(end);
            return;
        }
        HttpResponseStatus status;
        DefaultHttpResponse head;
        try {
            status = HttpConversionUtil.parseStatus(fields.status());
            head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status, false);
            HttpConversionUtil.addHttp2ToHttpHeaders(streamId, fields, head.headers(), HttpVersion.HTTP_1_1, false,
                    false);
        } catch (Http2Exception e) {
            // No or a bad :status, or fields HTTP/1.1 cannot carry: a malformed response, as the HTTP/1.1 decoder marks one.
            head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.BAD_GATEWAY, false);
            head.setDecoderResult(DecoderResult.failure(e));
            ctx.fireChannelRead(head);
            return;
        }
        head.headers().remove(HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text());
        if (status.code() < 200) {
            ctx.fireChannelRead(head);
            return;
        }
        finalHeadSeen = true;
        ctx.fireChannelRead(head);
        if (frame.isEndStream()) {
            ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        // Both come ahead of the stream's close, and before anything was read on it.
        if (event instanceof Http2GoAwayFrame goAway) {
            goAway.release();
            ctx.fireExceptionCaught(REFUSED);
            return;
        }
        if (event instanceof Http2ResetFrame reset && reset.errorCode() == Http2Error.REFUSED_STREAM.code()) {
            ctx.fireExceptionCaught(REFUSED);
            return;
        }
        ctx.fireUserEventTriggered(event);
    }

    /** A value passed as a cause, never thrown: no stack trace. */
    private static final class StreamRefused extends Exception {
        StreamRefused() {
            super("the endpoint refused the stream unprocessed", null, false, false);
        }
    }
}
