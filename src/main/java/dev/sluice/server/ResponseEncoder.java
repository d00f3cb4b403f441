package dev.sluice.server;

import dev.sluice.upstream.HeaderBytes;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import java.util.List;

/**
 * Netty's response encoder, told when the response answers a HEAD request. HttpServerCodec
 * learns that from its own decoder; Sluice uses its own strict decoder, so the connection tells
 * the encoder directly. Responses go out strictly in request order, so one flag is enough.
 *
 * <p>It is not a pipeline handler: DownstreamHandler has it encode each response part into an
 * event loop's shared list ({@link #encodeTo}) and writes the bytes on itself. (Its own
 * {@code write} would fill a list kept by every encoder: 56 bytes on each idle connection.)
 */
final class ResponseEncoder extends HttpResponseEncoder {
    private boolean answeringHead;

    void answeringHead(boolean head) {
        this.answeringHead = head;
    }

    /** Encodes one response part (and releases it) into {@code out}. */
    void encodeTo(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
        encode(ctx, msg, out);
    }

    @Override
    protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
        HeaderBytes.write(headers, buf);
    }

    /** Whether a response to the current request carries no body (HEAD, 1xx, 204, 304). */
    boolean isBodyless(HttpResponse msg) {
        return isContentAlwaysEmpty(msg);
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpResponse msg) {
        // 1xx interim responses precede the real one and never carry a body, HEAD or not.
        return super.isContentAlwaysEmpty(msg) || answeringHead && msg.status().code() >= 200;
    }
}
