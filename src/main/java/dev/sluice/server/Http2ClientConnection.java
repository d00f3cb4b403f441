package dev.sluice.server;

import dev.sluice.config.Http2Config;
import dev.sluice.http.Http2Windows;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/2 client connection: the connection's own concerns, as {@link ClientConnection} has them
 * for HTTP/1.1: its idle timeout (no stream open), its part in the drain (GOAWAY, then the streams
 * in flight finish), and its streams' count. Each stream is a {@link ClientStream} in a child
 * channel of Netty's {@link Http2MultiplexHandler}.
 *
 * <p>Pipeline after TLS (or the h2c preface): {@code h2-flush} ({@link FlushConsolidationHandler}:
 * the streams' flushes of one turn of the event loop go out as one write) → {@code h2-ids}
 * ({@link Http2StreamIds}: a HEADERS frame on a stream the client ended or skipped is a connection
 * error) → {@code h2} ({@link Http2FrameCodec}: frames, HPACK, flow control, and the protections
 * below) → {@code h2-streams} ({@link Http2MultiplexHandler}: one child channel per stream, on this
 * connection's event loop) → {@code h2-connection} (this).
 *
 * <p>Protections, each a setting of Netty's codec ({@link #codec}): streams open at once
 * ({@code REFUSED_STREAM} beyond), the header list's size (431 beyond, GOAWAY far beyond: a
 * header block that keeps growing, as a CONTINUATION flood's does), small CONTINUATION frames per
 * block (CVE-2024-27316), RST_STREAM frames per window (GOAWAY {@code ENHANCE_YOUR_CALM}:
 * CVE-2023-44487's rapid reset), consecutive empty DATA frames, and control frames queued for a
 * client that does not read (SETTINGS and PING floods).
 */
final class Http2ClientConnection extends ChannelInboundHandlerAdapter implements ConnectionDeadline.Expiry {
    private static final Logger LOG = LoggerFactory.getLogger(Http2ClientConnection.class);
    /**
     * 2: Netty's default. Empty DATA frames without END_STREAM carry nothing; a run of them is only
     * ever a way to keep the server busy for free.
     */
    private static final int MAX_CONSECUTIVE_EMPTY_DATA_FRAMES = 2;
    /**
     * 10,000: Netty's default. PING and SETTINGS frames oblige the server to answer; a client that
     * sends them and never reads the answers would make them pile up in memory.
     */
    private static final int MAX_QUEUED_CONTROL_FRAMES = 10_000;

    private final Gateway gateway;
    private final ListenerRuntime listener;
    private ChannelHandlerContext ctx;
    private ConnectionDeadline deadline;
    private int openStreams;
    private boolean goingAway;

    private Http2ClientConnection(Gateway gateway, ListenerRuntime listener) {
        this.gateway = gateway;
        this.listener = listener;
    }

    /** Makes {@code pipeline}'s end this listener's HTTP/2 handlers, after its TLS or the h2c preface check. */
    static void install(ChannelPipeline pipeline, Gateway gateway, ListenerRuntime listener) {
        Channel ch = pipeline.channel();
        String peer = "-";
        boolean trusted = false;
        if (ch.remoteAddress() instanceof InetSocketAddress address) {
            peer = PeerNames.of(address.getAddress());
            trusted = listener.isTrustedProxy(address);
        }
        String peerAddress = peer;
        boolean peerTrusted = trusted;
        Http2ClientConnection connection = new Http2ClientConnection(gateway, listener);
        Http2FrameCodec codec = codec(listener.config.http2());
        // Each stream's response ends with a flush of the connection, and the responses of many
        // streams arrive in one turn of the event loop (one read from each endpoint): flushed one
        // by one, each would be its own TLS record and write(2). Consolidated, the flush runs once
        // after the turn's reads (or after 256 flushes), for all of them.
        pipeline.addLast("h2-flush", new FlushConsolidationHandler(
                        FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true))
                .addLast("h2-ids", new Http2StreamIds(codec, listener.config.http2().maxConcurrentStreams()))
                .addLast("h2", codec)
                .addLast("h2-streams", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                    @Override
                    protected void initChannel(Http2StreamChannel stream) {
                        stream.pipeline().addLast("stream", new ClientStream(gateway, listener, peerAddress, peerTrusted));
                        connection.streamOpened();
                        stream.closeFuture().addListener(f -> connection.streamClosed());
                    }
                }))
                .addLast("h2-connection", connection);
    }

    static Http2FrameCodec codec(Http2Config config) {
        Http2Settings settings = new Http2Settings()
                .maxConcurrentStreams(config.maxConcurrentStreams())
                .maxHeaderListSize(config.maxHeaderListSize())
                .headerTableSize(config.headerTableSize())
                // RFC 8441 §3: extended CONNECT, so a WebSocket can be one stream (Http2Tunnel).
                .connectProtocolEnabled(true);
        return Http2FrameCodecBuilder.forServer()
                .initialSettings(settings)
                .validateHeaders(true)
                .decoderEnforceMaxRstFramesPerWindow(config.maxResets(), (int) config.resetWindow().toSeconds())
                .decoderEnforceMaxSmallContinuationFrames(config.maxSmallContinuationFrames())
                .decoderEnforceMaxConsecutiveEmptyDataFrames(MAX_CONSECUTIVE_EMPTY_DATA_FRAMES)
                .encoderEnforceMaxQueuedControlFrames(MAX_QUEUED_CONTROL_FRAMES)
                // The drain's GOAWAY waits for every stream in flight; drain.timeout bounds the wait.
                .gracefulShutdownTimeoutMillis(-1)
                .build();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        Channel ch = ctx.channel();
        this.deadline = new ConnectionDeadline(this, listener.waitingConnections(ch.eventLoop(), gateway.nanoClock()),
                gateway.deadlines(ch.eventLoop()));
        if (ch.isActive() && openStreams == 0) {
            deadline.idleFrom(gateway.nanoTime());
        }
        // After the codec's SETTINGS (written when it was added). At most max_concurrent_streams
        // windows of 64 KiB are held unread, whatever the connection's window.
        Http2Windows.widenConnectionWindow(ctx);
    }

    private void streamOpened() {
        if (openStreams++ == 0) {
            deadline.disarm();
        }
    }

    private void streamClosed() {
        if (--openStreams == 0 && ctx.channel().isActive() && !goingAway) {
            deadline.idleFrom(gateway.nanoTime());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event == Gateway.DrainEvent.INSTANCE) {
            goAway();
            return;
        }
        ctx.fireUserEventTriggered(event);
    }

    /**
     * GOAWAY with the last stream taken (RFC 9113 §6.8): the client opens no more streams here,
     * those in flight finish, and the connection closes after the last (Netty's graceful close).
     */
    private void goAway() {
        if (!goingAway) {
            goingAway = true;
            deadline.disarm();
            ctx.close();
        }
    }

    @Override
    public void idleExpired() {
        goAway();
    }

    @Override
    public void deadlinePassed(ConnectionDeadline.Kind kind) {
        // Only the idle timeout applies to the connection; its streams keep their own deadlines.
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        deadline.disarm();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2Exception) {
            // A connection error the codec found (a flood, a protocol error): it sends GOAWAY with
            // its code (ENHANCE_YOUR_CALM for rapid reset) and closes; closing here first would
            // send a GOAWAY of NO_ERROR ahead of it.
            LOG.debug("HTTP/2 connection error from {}: {}", ctx.channel().remoteAddress(), cause.getMessage());
            return;
        }
        if (!(cause instanceof IOException)) {
            LOG.debug("closing HTTP/2 connection from {}: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }
}
