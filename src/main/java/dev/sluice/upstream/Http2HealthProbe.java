package dev.sluice.upstream;

import dev.sluice.failure.IoErrors;
import dev.sluice.upstream.HealthChecker.Outcome;
import dev.sluice.upstream.HealthChecker.Probe;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One health check of an endpoint of a cluster that speaks HTTP/2 ({@code protocol: h2c} or
 * {@code h2}): a fresh connection opened as the cluster's own are ({@link UpstreamConnector#connectForHttp2}:
 * h2c by prior knowledge, or the cluster's {@code tls} with ALPN {@code h2}), Netty's frame codec
 * and multiplexer, and one stream. The stream's pipeline is the exchange's
 * {@link Http2StreamCodec} (the request as HEADERS and DATA, the answer back as HTTP/1.1 objects,
 * trailers in its last part), the aggregator the HTTP/1.1 check uses, then its {@link Probe}, so
 * one judge serves both protocols. The connection closes once the answer is judged, or when
 * {@code timeout} passes first. A fresh connection per check, as for HTTP/1.1: the check proves
 * the endpoint takes new connections, not only that an old one is still open.
 *
 * <p>Pipeline of the connection: [tls, ALPN] → Http2FrameCodec → Http2MultiplexHandler →
 * {@link ConnectionWatch}; of the stream: Http2StreamCodec → HttpObjectAggregator → Probe.
 */
final class Http2HealthProbe {
    private Http2HealthProbe() {
    }

    /**
     * Sends the request {@code request} makes to {@code endpoint} on a new HTTP/2 connection;
     * {@code probe} records what came of it. The request is made once its stream is open, so a
     * connect that never completes (the event loop shutting down) holds no buffer.
     */
    static void send(UpstreamConnector connector, EventLoop loop, Endpoint endpoint, UpstreamTls tls, Duration timeout,
                     Function<ByteBufAllocator, HttpRequest> request, Probe probe) {
        int timeoutMillis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        ConnectionWatch watch = new ConnectionWatch(probe);
        connector.connectForHttp2(loop, endpoint, timeoutMillis, tls, Http2FrameCodecBuilder.forClient()
                        // As the cluster's own connections: no push, a 64 KiB header list at most.
                        .initialSettings(Http2Settings.defaultSettings().pushEnabled(false)
                                .maxHeaderListSize(UpstreamConnector.MAX_RESPONSE_HEADER_SIZE))
                        .validateHeaders(true)
                        // Closed at once when the check is done or out of time: Netty's default waits
                        // up to 30 s for a stream still open (one the endpoint never answered).
                        .gracefulShutdownTimeoutMillis(0)
                        .build(),
                new Http2MultiplexHandler(Http2Connection.NoPushedStreams.INSTANCE), watch)
                .addListener((Future<Channel> connected) -> {
                    if (!connected.isSuccess()) {
                        probe.finish(Outcome.FAIL, "connect: " + IoErrors.describe(connected.cause()));
                        return;
                    }
                    Channel connection = connected.getNow();
                    ScheduledFuture<?> deadline = loop.schedule(() -> {
                        probe.finish(Outcome.FAIL, "no answer within " + timeout);
                        connection.close();
                    }, timeout.toNanos(), TimeUnit.NANOSECONDS);
                    connection.closeFuture().addListener(closed -> deadline.cancel(false));
                    openStream(connection, tls != null, request, probe);
                });
    }

    private static void openStream(Channel connection, boolean secure, Function<ByteBufAllocator, HttpRequest> request,
                                   Probe probe) {
        new Http2StreamChannelBootstrap(connection).open().addListener((Future<Http2StreamChannel> opened) -> {
            if (!opened.isSuccess()) {
                probe.finish(Outcome.FAIL, "HTTP/2 stream not opened: " + IoErrors.describe(opened.cause()));
                connection.close();
                return;
            }
            Http2StreamChannel stream = opened.getNow();
            stream.pipeline().addLast(new Http2StreamCodec(secure), new HttpObjectAggregator(HealthChecker.MAX_RESPONSE),
                    probe);
            // The answer judged (the probe closes its stream) or the stream reset: the connection has done its work.
            stream.closeFuture().addListener(closed -> connection.close());
            stream.writeAndFlush(request.apply(stream.alloc()));
        });
    }

    /**
     * Last in the connection's pipeline: the frames that concern the whole connection (SETTINGS,
     * PING, GOAWAY) end here, and a connection error (an endpoint that does not speak HTTP/2
     * answering the preface) fails the check with its cause before the stream sees the close.
     */
    private static final class ConnectionWatch extends ChannelInboundHandlerAdapter {
        private final Probe probe;

        ConnectionWatch(Probe probe) {
            this.probe = probe;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            probe.finish(Outcome.FAIL, "HTTP/2: " + IoErrors.describe(cause));
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            probe.finish(Outcome.FAIL, "connection closed without an answer");
            ctx.fireChannelInactive();
        }
    }
}
