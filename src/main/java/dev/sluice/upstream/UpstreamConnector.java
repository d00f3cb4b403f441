package dev.sluice.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import javax.net.ssl.SSLHandshakeException;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.function.LongSupplier;

/** Opens upstream connections on a given event loop, with strict response parsing. */
public final class UpstreamConnector {
    /** 64 KiB chunks: large enough for few syscalls, small enough to bound memory per stream. */
    public static final int MAX_CHUNK_SIZE = 64 * 1024;
    /** Response heads up to 64 KiB: some backends send large cookie sets. */
    static final int MAX_RESPONSE_HEADER_SIZE = 64 * 1024;
    /** Pause reading the other side when 256 KiB wait unsent; resume below 64 KiB. */
    public static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    private final Class<? extends SocketChannel> channelClass;
    private final LongSupplier nanoClock;

    public UpstreamConnector(Class<? extends SocketChannel> channelClass, LongSupplier nanoClock) {
        this.channelClass = channelClass;
        this.nanoClock = nanoClock;
    }

    /**
     * Stands in for the connection's handler until the connect completes: errors on a socket
     * still connecting (a refused connect can surface as a read error) are reported by the
     * connect future, so here they are only swallowed.
     */
    private static final class ConnectingGuard extends io.netty.channel.ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    public Future<UpstreamConnection> connect(EventLoop loop, Endpoint endpoint, int connectTimeoutMillis) {
        return connect(loop, endpoint, connectTimeoutMillis, null);
    }

    /**
     * Opens a connection to {@code endpoint}; with {@code tls}, the connection is ready once its
     * TLS handshake is done (bounded by the connect timeout too), and a failed handshake fails it
     * with the {@code SSLException} that says why.
     */
    public Future<UpstreamConnection> connect(EventLoop loop, Endpoint endpoint, int connectTimeoutMillis,
                                              UpstreamTls tls) {
        Promise<UpstreamConnection> promise = loop.newPromise();
        UpstreamCodec codec = new UpstreamCodec(MAX_RESPONSE_HEADER_SIZE, MAX_CHUNK_SIZE);
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(new io.netty.channel.ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast("tls", tls.handler(ch.alloc(), endpoint, connectTimeoutMillis));
                        }
                        ch.pipeline().addLast("http", codec.decoder()).addLast("exchange", new ConnectingGuard());
                    }
                });
        ChannelFuture f = bootstrap.connect(endpoint.socketAddress());
        f.addListener(done -> {
            if (!done.isSuccess()) {
                promise.setFailure(done.cause());
                return;
            }
            io.netty.handler.ssl.SslHandler ssl = f.channel().pipeline().get(io.netty.handler.ssl.SslHandler.class);
            if (ssl == null) {
                ready(f.channel(), endpoint, codec, promise);
                return;
            }
            ssl.handshakeFuture().addListener(handshake -> {
                if (handshake.isSuccess()) {
                    ready(f.channel(), endpoint, codec, promise);
                } else {
                    f.channel().close();
                    promise.tryFailure(handshake.cause());
                }
            });
        });
        return promise;
    }

    /**
     * Opens a connection for HTTP/2 to {@code endpoint}, {@code handlers} its pipeline: at once in
     * cleartext ({@code h2c}, prior knowledge), or after its TLS handshake once ALPN chose
     * {@code h2} (Netty's {@link ApplicationProtocolNegotiationHandler} keeps what came meanwhile).
     * Done when they are in place; an endpoint that chose no protocol or {@code http/1.1} fails it
     * with an {@code SSLHandshakeException} that says so (an {@code upstream_tls_failed}), before a
     * byte of HTTP/2 went to it.
     */
    public Future<Channel> connectForHttp2(EventLoop loop, Endpoint endpoint, int connectTimeoutMillis, UpstreamTls tls,
                                           ChannelHandler... handlers) {
        Promise<Channel> promise = loop.newPromise();
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(new io.netty.channel.ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls == null) {
                            ch.pipeline().addLast(handlers);
                            return;
                        }
                        ch.pipeline().addLast("tls", tls.handler(ch.alloc(), endpoint, connectTimeoutMillis))
                                .addLast(new AlpnH2(endpoint, handlers, promise));
                    }
                });
        ChannelFuture f = bootstrap.connect(endpoint.socketAddress());
        f.addListener(done -> {
            if (!done.isSuccess()) {
                promise.tryFailure(done.cause());
            } else if (tls == null) {
                promise.trySuccess(f.channel());
            }
        });
        return promise;
    }

    /** After the handshake: the HTTP/2 handlers when ALPN chose {@code h2}, else the connection fails. */
    private static final class AlpnH2 extends ApplicationProtocolNegotiationHandler {
        private final Endpoint endpoint;
        private final ChannelHandler[] handlers;
        private final Promise<Channel> promise;

        AlpnH2(Endpoint endpoint, ChannelHandler[] handlers, Promise<Channel> promise) {
            super("none");
            this.endpoint = endpoint;
            this.handlers = handlers;
            this.promise = promise;
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                ctx.pipeline().addLast(handlers);
                promise.trySuccess(ctx.channel());
                return;
            }
            promise.tryFailure(new SSLHandshakeException(endpoint + " did not choose h2 by ALPN (it chose "
                    + protocol + "): it does not speak HTTP/2 over TLS"));
            ctx.close();
        }

        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            promise.tryFailure(cause);
            ctx.close();
        }
    }

    private void ready(Channel channel, Endpoint endpoint, UpstreamCodec codec, Promise<UpstreamConnection> promise) {
        UpstreamConnection connection = new UpstreamConnection(endpoint, channel, codec.encoder(), nanoClock.getAsLong());
        channel.pipeline().replace("exchange", "exchange", connection);
        promise.setSuccess(connection);
    }
}
