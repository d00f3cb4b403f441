package dev.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A WebSocket over HTTP/2 (RFC 8441): one stream of a client's connection and an HTTP/1.1
 * connection to the endpoint that answered the upgrade with 101, made a byte tunnel as {@link
 * Tunnel} makes two connections one: the stream's DATA frames are written to the endpoint as
 * bytes, the endpoint's bytes go back as DATA frames. Backpressure the same way: a side stops
 * reading while the other cannot take more (the stream's flow-control window, the endpoint's
 * socket), and reads again once it drains. The client's END_STREAM, or its reset, closes the
 * endpoint's connection; the endpoint closing ends the stream (END_STREAM); a stream that carries
 * nothing either way for the listener's {@code websocket_idle_timeout} is reset ({@code CANCEL}).
 *
 * <p>Stream pipeline after {@link #join}: {@code tunnel-idle} → {@code tunnel} (in place of
 * {@code stream}); the endpoint's: {@code tunnel}.
 */
final class Http2Tunnel {
    private Http2Tunnel() {
    }

    /**
     * Makes {@code stream} (its {@code stream} handler) and {@code upstream} (its {@code http}
     * decoder and {@code exchange} handler) a tunnel; {@code early} (the client's bytes that came
     * before the endpoint's answer) go first, and {@code ended} says the client's END_STREAM came
     * with them. Counted in {@code open} while the stream lasts. On the event loop both share.
     */
    static void join(Channel stream, Channel upstream, List<ByteBuf> early, boolean ended, Duration idleTimeout,
                     AtomicInteger open) {
        open.incrementAndGet();
        stream.closeFuture().addListener(f -> open.decrementAndGet());
        ChannelPipeline streamSide = stream.pipeline();
        streamSide.replace("stream", "tunnel", new FromClient(upstream));
        streamSide.addBefore("tunnel", "tunnel-idle", new IdleStateHandler(0, 0, idleTimeout.toNanos(),
                TimeUnit.NANOSECONDS));
        ChannelPipeline upstreamSide = upstream.pipeline();
        upstreamSide.replace("exchange", "tunnel", new FromEndpoint(stream));
        upstreamSide.remove("http");
        for (ByteBuf bytes : early) {
            upstream.write(bytes, upstream.voidPromise());
        }
        upstream.flush();
        if (ended) {
            upstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        stream.config().setAutoRead(true);
        upstream.config().setAutoRead(true);
        if (!stream.isActive()) {
            upstream.close();
        } else if (!upstream.isActive()) {
            FromEndpoint.end(stream);
        }
    }

    /** On the client's stream: its DATA frames to the endpoint. */
    private static final class FromClient extends ChannelInboundHandlerAdapter {
        private final Channel upstream;

        FromClient(Channel upstream) {
            this.upstream = upstream;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            boolean end;
            if (msg instanceof Http2DataFrame data) {
                end = data.isEndStream();
                if (upstream.isActive() && data.content().isReadable()) {
                    upstream.write(data.content(), upstream.voidPromise());
                } else {
                    data.release();
                }
            } else {
                // Trailers end a tunnel as END_STREAM does; a reset closes the stream (channelInactive).
                end = msg instanceof Http2HeadersFrame headers && headers.isEndStream();
                ReferenceCountUtil.release(msg);
            }
            if (end && upstream.isActive()) {
                upstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            upstream.flush();
            if (!upstream.isWritable()) {
                // The endpoint is slower: the stream's window is not given back until it drains.
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                upstream.config().setAutoRead(true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (upstream.isActive()) {
                upstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof IdleStateEvent) {
                ctx.close(); // RST_STREAM CANCEL
                return;
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A stream error (a reset, a frame the codec refused) ends the tunnel; nothing to log.
            ctx.close();
        }
    }

    /** On the endpoint's connection: its bytes to the client as DATA frames. */
    private static final class FromEndpoint extends ChannelInboundHandlerAdapter {
        private final Channel stream;

        FromEndpoint(Channel stream) {
            this.stream = stream;
        }

        /** The endpoint is gone: the stream ends after what it sent (END_STREAM), then closes. */
        static void end(Channel stream) {
            stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true))
                    .addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (stream.isActive() && msg instanceof ByteBuf bytes) {
                stream.write(new DefaultHttp2DataFrame(bytes, false), stream.voidPromise());
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            stream.flush();
            if (!stream.isWritable()) {
                // The client's window is spent: stop reading the endpoint until it is given back.
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                stream.config().setAutoRead(true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (stream.isActive()) {
                end(stream);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
