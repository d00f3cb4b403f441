package dev.sluice.testing;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * One backend connection: turns decoded request parts into {@link BackendExchange}s, one at a time.
 *
 * <p>Expects auto-read off and a {@code FlowControlHandler} before it, so each {@code read()} yields one
 * request part. The next request is read only when the current one has been fully read and fully
 * answered, which keeps pipelined responses in order. Between requests the connection is idle and, if
 * the backend has an idle timeout, closes when it expires, like a real server's keep-alive timeout.
 */
final class BackendConnection extends ChannelInboundHandlerAdapter {
    private final TestBackend backend;
    private final long id;
    private ChannelHandlerContext ctx;
    private BackendExchange exchange;
    private int nextIndex;
    private Future<?> idleClose;
    private boolean readWanted; // a read() was asked for and no message has arrived yet

    BackendConnection(TestBackend backend, long id) {
        this.backend = backend;
        this.id = id;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        armIdleClose();
        requestRead();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        readWanted = false;
        try {
            if (msg instanceof HttpRequest request) {
                onHead(request);
            } else if (msg instanceof HttpContent content) {
                onContent(content);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHead(HttpRequest request) {
        cancelIdleClose();
        BackendExchange ex = new BackendExchange(backend, this, ctx, request, id, nextIndex++);
        exchange = ex;
        DecoderResult result = request.decoderResult();
        if (result.isFailure()) {
            backend.record(ex.finishRequest("rejected by the backend's HTTP decoder: " + result.cause()));
            ex.rejectMalformed();
            return;
        }
        backend.guard(ex, () -> backend.handler().onHead(ex));
        if (exchange == ex && !ex.requestDone() && ctx.channel().isActive()) {
            requestRead();
        }
    }

    private void onContent(HttpContent content) {
        BackendExchange ex = exchange;
        if (ex == null || ex.requestDone()) {
            return; // the rest of a request already rejected
        }
        if (content.decoderResult().isFailure()) {
            backend.record(ex.finishRequest("rejected by the backend's HTTP decoder: " + content.decoderResult().cause()));
            ex.rejectMalformed();
            return;
        }
        ex.appendBody(content.content());
        if (content instanceof LastHttpContent last) {
            ex.addTrailers(last.trailingHeaders());
            backend.record(ex.finishRequest(null));
            backend.guard(ex, () -> backend.handler().onRequest(ex));
            nextRequestIfDone(ex);
        } else if (ctx.channel().isActive()) {
            requestRead();
        }
    }

    /** Called by the exchange when its final response was written and the connection stays open. */
    void responseDone(BackendExchange ex) {
        nextRequestIfDone(ex);
    }

    private void nextRequestIfDone(BackendExchange ex) {
        // `exchange == ex` guards re-entry: reading may deliver (and finish) the next request synchronously.
        if (exchange == ex && ex.requestDone() && ex.responseDone() && ctx.channel().isActive()) {
            exchange = null;
            armIdleClose();
            requestRead();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // A read cycle may end without delivering a message (a partial chunk, or FlowControlHandler
        // settling the read); ask again, or the connection would stall with bytes waiting.
        if (readWanted && ctx.channel().isActive()) {
            ctx.read();
        }
        ctx.fireChannelReadComplete();
    }

    private void requestRead() {
        readWanted = true;
        ctx.read();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelIdleClose();
        BackendExchange ex = exchange;
        if (ex != null && !ex.requestDone()) {
            backend.record(ex.finishRequest("connection closed before the request ended"));
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            backend.recordError(cause); // a peer's reset is an IOException and expected in fault tests
        }
        ctx.close();
    }

    private void armIdleClose() {
        Duration idle = backend.idleTimeout();
        if (idle != null) {
            idleClose = ctx.executor().schedule(() -> {
                if (exchange == null) {
                    ctx.close();
                }
            }, idle.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void cancelIdleClose() {
        if (idleClose != null) {
            idleClose.cancel(false);
            idleClose = null;
        }
    }
}
