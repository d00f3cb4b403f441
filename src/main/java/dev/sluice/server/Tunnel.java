package dev.sluice.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One direction of a WebSocket tunnel: what one connection reads is written to the other, as
 * bytes (both pipelines have lost their HTTP codecs). Backpressure by construction, as Netty's
 * HexDumpProxy: a side stops reading while the other cannot take more, and reads again once it
 * drains. Either side closing closes the other once what it was sent is flushed; a tunnel that
 * carries nothing either way for its listener's {@code websocket_idle_timeout} is closed.
 *
 * <p>Client pipeline after {@link #join}: ({@code tls} →) {@code tunnel-idle} → {@code tunnel};
 * the endpoint's: {@code tunnel}.
 */
final class Tunnel extends ChannelInboundHandlerAdapter {
    private final Channel other;

    private Tunnel(Channel other) {
        this.other = other;
    }

    /**
     * RFC 6455 §4.1 (and §4.2.1, what a server checks): an HTTP/1.1 GET with {@code Upgrade}
     * naming {@code websocket} and {@code Connection} naming {@code upgrade}. Any other upgrade
     * ({@code h2c}) is not one: its fields are dropped as hop-by-hop and the request goes on as plain HTTP.
     */
    static boolean webSocketRequested(HttpRequest head) {
        return HttpMethod.GET.equals(head.method()) && HttpVersion.HTTP_1_1.equals(head.protocolVersion())
                && head.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)
                && head.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true);
    }

    /**
     * Makes {@code client} (its HTTP handlers {@code decoder} and {@code proxy}) and
     * {@code upstream} (its {@code http} decoder and {@code exchange} handler) a tunnel. Bytes
     * either decoder still held go through it. Counted in {@code open} while the client's
     * connection lasts. On the event loop both connections share.
     */
    static void join(Channel client, Channel upstream, Duration idleTimeout, AtomicInteger open) {
        open.incrementAndGet();
        client.closeFuture().addListener(f -> open.decrementAndGet());
        ChannelPipeline clientSide = client.pipeline();
        clientSide.replace("proxy", "tunnel", new Tunnel(upstream));
        // Reads and writes of the client's connection are the tunnel's traffic both ways.
        clientSide.addBefore("tunnel", "tunnel-idle", new IdleStateHandler(0, 0, idleTimeout.toNanos(),
                TimeUnit.NANOSECONDS));
        clientSide.remove("decoder");
        ChannelPipeline upstreamSide = upstream.pipeline();
        upstreamSide.replace("exchange", "tunnel", new Tunnel(client));
        upstreamSide.remove("http");
        client.config().setAutoRead(true);
        upstream.config().setAutoRead(true);
        if (!client.isActive()) {
            upstream.close();
        } else if (!upstream.isActive()) {
            client.close();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (other.isActive()) {
            other.write(msg, other.voidPromise());
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        other.flush();
        if (!other.isWritable()) {
            // The other side is slower: stop reading this one until it has drained.
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            other.config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (other.isActive()) {
            other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        // A drain's "close when idle" is not for a tunnel: it lasts until drain.timeout closes it.
        if (event != Gateway.DrainEvent.INSTANCE) {
            ctx.fireUserEventTriggered(event);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset or a broken pipe ends the tunnel; nothing to log per connection.
        ctx.close();
    }
}
