package dev.sluice.server;

import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * Netty's response encoder, told when the response answers a HEAD request. HttpServerCodec
 * learns that from its own decoder; Sluice uses its own strict decoder, so the connection tells
 * the encoder directly. Responses go out strictly in request order, so one flag is enough.
 *
 * <p>It is not a pipeline handler: DownstreamHandler hands it each response part with
 * {@code write(ctx, msg, promise)}, and the encoded bytes go on from that context to the socket.
 */
final class ResponseEncoder extends HttpResponseEncoder {
    private boolean answeringHead;

    void answeringHead(boolean head) {
        this.answeringHead = head;
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
