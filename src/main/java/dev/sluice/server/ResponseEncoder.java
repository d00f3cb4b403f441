package dev.sluice.server;

import dev.sluice.exchange.HeaderPolicy;
import dev.sluice.http.ChunkedBody;
import dev.sluice.http.HeaderBytes;
import dev.sluice.http.ReceivedResponse;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes responses to a client: the head in one buffer ({@link HeaderBytes#responseHead}, or
 * {@link ReceivedResponse#writeForwarded} for an endpoint's head forwarded verbatim), then
 * the body parts as they are, or as chunks when the response is chunked. It replaced Netty's
 * HttpResponseEncoder (whose head, written field by field into the pooled buffer, was 8% of the
 * event loop's user time with a state machine a connection answering in order does not need);
 * its rules for bodyless responses are Netty's.
 *
 * <p>A response to HEAD has no body: HttpServerCodec learns that from its own decoder; Sluice
 * uses its own strict decoder, so the connection tells the encoder ({@link #answeringHead}).
 * Responses go out strictly in request order, so one flag is enough.
 *
 * <p>It is not a pipeline handler: ClientConnection has it frame each head ({@link #frame}) and
 * encode each response part into an event loop's shared list ({@link #encodeTo}), and writes the
 * bytes on itself.
 */
final class ResponseEncoder {
    /** The encoded parts of one response part, on their way to the socket; see {@link #write}. */
    private static final FastThreadLocal<ArrayList<Object>> ENCODED = new FastThreadLocal<>() {
        @Override
        protected ArrayList<Object> initialValue() {
            return new ArrayList<>(4);
        }
    };

    private boolean answeringHead;
    /** Whether the response being written carries no body (its parts are dropped). */
    private boolean bodyless;
    /** Whether the body of the response being written goes out chunked. */
    private boolean chunked;

    void answeringHead(boolean head) {
        this.answeringHead = head;
    }

    /**
     * Frames a final response for its client as the head goes out, and returns whether the
     * connection stays open after it ({@code keepAlive}, unless the framing forbids it). A head
     * forwarded from its bytes gets its added lines; any other has its map edited: a body the
     * endpoint ends by closing is re-framed as chunked for an HTTP/1.1 client, and ends the
     * connection for an HTTP/1.0 one, which cannot read chunked either.
     */
    boolean frame(HttpResponse head, boolean http11Client, boolean keepAlive) {
        if (head instanceof ReceivedResponse raw && raw.verbatim()) {
            raw.forwardVerbatim(HeaderPolicy.addedResponseFields(keepAlive, http11Client));
        } else {
            HttpHeaders headers = head.headers();
            boolean chunked = HttpUtil.isTransferEncodingChunked(head);
            boolean closeDelimited = !isBodyless(head) && !chunked && !headers.contains(HttpHeaderNames.CONTENT_LENGTH);
            if (closeDelimited && http11Client) {
                headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            } else if (closeDelimited || chunked && !http11Client) {
                headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
                keepAlive = false;
            }
            if (!keepAlive) {
                headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (!http11Client) {
                headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
        }
        head.setProtocolVersion(HttpVersion.HTTP_1_1);
        return keepAlive;
    }

    /**
     * Encodes a response part and writes it to {@code ctx}'s channel, without a pipeline hop: the
     * encoded parts pass through one list per event loop instead of one per connection. A failure
     * to encode is handled as a pipeline would: the promise fails, or, for a void promise, the
     * pipeline is told (and the connection closes as after any unexpected error).
     */
    void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        ArrayList<Object> out = ENCODED.get();
        Throwable failure = null;
        try {
            encodeTo(ctx, msg, out);
        } catch (Throwable t) {
            failure = t;
        }
        // Taken off the shared list before any write: a failed write can close a connection
        // whose handlers encode again.
        int n = out.size();
        ChannelPromise last = failure == null ? promise : ctx.voidPromise();
        if (n == 1) {
            Object part = out.get(0);
            out.clear();
            ctx.write(part, last);
        } else if (n > 1) {
            Object[] parts = out.toArray();
            out.clear();
            for (int i = 0; i < n; i++) {
                ctx.write(parts[i], i == n - 1 ? last : ctx.voidPromise());
            }
        } else if (failure == null) {
            promise.trySuccess();
        }
        if (failure != null && (promise.isVoid() || !promise.tryFailure(failure))) {
            ctx.pipeline().fireExceptionCaught(failure);
        }
    }

    /** Encodes one response part (and releases it) into {@code out}: a head, a body part, or bytes as they are. */
    void encodeTo(ChannelHandlerContext ctx, Object msg, List<Object> out) {
        if (msg instanceof ReceivedResponse raw && raw.forwardedVerbatim()) {
            // A final response, not 204 or 205, with no transfer coding (ReceivedResponse.verbatim):
            // its framing needs no edit.
            bodyless = isBodyless(raw);
            chunked = false;
            out.add(raw.writeForwarded(ctx.alloc()));
        } else if (msg instanceof HttpResponse response) {
            bodyless = isBodyless(response);
            if (bodyless) {
                withoutBodyFraming(response);
            }
            chunked = !bodyless && HttpUtil.isTransferEncodingChunked(response);
            out.add(HeaderBytes.responseHead(ctx.alloc(), response));
            if (msg instanceof HttpContent whole) {
                encodeBody(ctx, whole, out);
            }
        } else if (msg instanceof HttpContent part) {
            encodeBody(ctx, part, out);
        } else if (msg instanceof ByteBuf bytes) {
            out.add(bytes);
        } else {
            ReferenceCountUtil.release(msg);
            throw new IllegalArgumentException("not a response part: " + msg.getClass().getName());
        }
    }

    private void encodeBody(ChannelHandlerContext ctx, HttpContent part, List<Object> out) {
        if (bodyless) {
            part.release();
        } else if (chunked) {
            ChunkedBody.encode(ctx.alloc(), part, out);
        } else if (part.content().isReadable()) {
            out.add(part.content());
        } else {
            part.release();
        }
    }

    /** Whether a response to the current request carries no body (HEAD, 1xx, 204, 205, 304). */
    boolean isBodyless(HttpResponse msg) {
        int code = msg.status().code();
        if (code < 200) {
            // 1xx interim responses precede the real one and never carry a body, HEAD or not.
            return code != 101 || msg.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_VERSION);
        }
        return code == 204 || code == 205 || code == 304 || answeringHead;
    }

    /** RFC 9110 §8.6, §15.3.6: no length or coding on 1xx and 204; 205 says its body is empty. */
    private static void withoutBodyFraming(HttpResponse msg) {
        int code = msg.status().code();
        if (code < 200 || code == 204) {
            msg.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
            msg.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        } else if (code == 205) {
            msg.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
            msg.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        }
    }
}
