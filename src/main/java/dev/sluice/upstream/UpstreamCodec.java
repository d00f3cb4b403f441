package dev.sluice.upstream;

import dev.sluice.http.ResponseDecoder;
import dev.sluice.http.HeaderBytes;
import dev.sluice.http.ChunkedBody;
import dev.sluice.http.ReceivedRequest;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;

/**
 * The HTTP/1.1 codec of a connection to an endpoint: Sluice's request {@link Encoder} and
 * {@link ResponseDecoder}, for a connection that carries one request at a time.
 *
 * <p>The decoder must know which request a response answers (a response to HEAD has no body
 * whatever its headers say); with one request in flight that is one field, where
 * HttpClientCodec keeps a queue for pipelined requests Sluice never sends (nor CONNECT, whose
 * tunnel HttpClientCodec also handles).
 *
 * <p>Only the decoder is in the connection's pipeline. {@link UpstreamConnection}, the last
 * handler, calls the encoder itself with its own context, so a request's writes and flush go
 * straight to the socket's end of the pipeline instead of through a combined handler's two
 * extra hops in each direction (as {@code ResponseEncoder} does for clients).
 */
final class UpstreamCodec implements ResponseDecoder.RequestMethods {
    /** The method of the request whose response is awaited; null once its final response began. */
    private HttpMethod inFlight;
    private final ResponseDecoder decoder;
    private final Encoder encoder = new Encoder();

    UpstreamCodec(int maxHeadSize, int maxBodyPart) {
        this.decoder = new ResponseDecoder(this, maxHeadSize, maxBodyPart);
    }

    /** The handler for the connection's pipeline. */
    ResponseDecoder decoder() {
        return decoder;
    }

    /** Called by {@link UpstreamConnection} with its context; a handler too, for tests. */
    Encoder encoder() {
        return encoder;
    }

    /** Decoder and encoder as two handlers, for a channel of their own (tests). */
    ChannelHandler[] handlers() {
        return new ChannelHandler[] {decoder, encoder};
    }

    @Override
    public boolean finalResponseAnswersHead() {
        HttpMethod method = inFlight;
        inFlight = null;
        return HttpMethod.HEAD.equals(method);
    }

    /**
     * Writes requests to the endpoint: the head in one buffer ({@link HeaderBytes#requestHead}),
     * then the body parts, as they are or as chunks when the request is chunked. Netty's
     * HttpRequestEncoder, which this replaces, writes a head field by field and keeps a state
     * machine a connection with one request at a time does not need; and a bodyless request's
     * empty end marker, which adds no bytes, is not written at all when nobody waits on it.
     */
    final class Encoder extends ChannelOutboundHandlerAdapter {
        /** Whether the body of the request being written goes out chunked. */
        private boolean chunked;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof HttpRequest request) {
                inFlight = request.method();
                // A request forwarded verbatim has no body (ReceivedRequest): no coding to read.
                boolean verbatim = request instanceof ReceivedRequest received && received.forwardedVerbatim();
                chunked = !verbatim && HttpUtil.isTransferEncodingChunked(request);
                ByteBuf head;
                try {
                    head = verbatim ? ((ReceivedRequest) request).writeForwarded(ctx.alloc())
                            : HeaderBytes.requestHead(ctx.alloc(), request);
                } catch (RuntimeException e) {
                    ReferenceCountUtil.release(msg);
                    promise.setFailure(e);
                    return;
                }
                if (msg instanceof HttpContent content) {
                    ctx.write(head, ctx.voidPromise());
                    writeContent(ctx, content, promise);
                } else {
                    ctx.write(head, promise);
                }
            } else if (msg instanceof HttpContent content) {
                writeContent(ctx, content, promise);
            } else {
                ctx.write(msg, promise);
            }
        }

        private void writeContent(ChannelHandlerContext ctx, HttpContent content, ChannelPromise promise) {
            ByteBuf data = content.content();
            if (!chunked) {
                if (!data.isReadable() && promise.isVoid()) {
                    content.release();
                    return;
                }
                // Trailers need chunked framing; a body framed by length has none to carry them.
                ctx.write(data, promise);
                return;
            }
            List<Object> parts = new ArrayList<>(3);
            ChunkedBody.encode(ctx.alloc(), content, parts);
            if (parts.isEmpty()) {
                if (!promise.isVoid()) {
                    promise.setSuccess();
                }
                return;
            }
            for (int i = 0; i < parts.size() - 1; i++) {
                ctx.write(parts.get(i), ctx.voidPromise());
            }
            ctx.write(parts.get(parts.size() - 1), promise);
        }
    }
}
