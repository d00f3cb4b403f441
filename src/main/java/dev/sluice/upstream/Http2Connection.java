package dev.sluice.upstream;

import dev.sluice.http.Http2Windows;
import dev.sluice.config.UpstreamHttp2Config;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/2 connection to an endpoint, shared by the streams of the requests its event loop
 * sends there ({@link Http2Pool}). Its pipeline: the TLS handler (for {@code h2}), a
 * {@link FlushConsolidationHandler} (the streams' flushes of one turn of the loop are one write),
 * Netty's {@link Http2FrameCodec} (frames, HPACK, flow control, the endpoint's settings), the
 * {@link Http2Keepalive} (its PINGs, unless {@code ping_interval: off}), its
 * {@link Http2MultiplexHandler} (a child channel per stream), then this handler, which sees what
 * concerns the whole connection:
 * <ul>
 *   <li>the endpoint's first SETTINGS: the connection is ready, and its
 *       {@code SETTINGS_MAX_CONCURRENT_STREAMS} is how many streams it may carry at once
 *       ({@link #hasRoom}; the pool opens another connection beyond it);</li>
 *   <li>a GOAWAY: no new stream goes on it, the streams the endpoint will still process finish,
 *       then it closes; the multiplexer tells the streams above its last stream id, which fail
 *       unprocessed ({@link Http2StreamCodec#REFUSED}) and are sent again;</li>
 *   <li>no stream for the cluster's {@code idle_timeout}: closed (with Netty's GOAWAY).</li>
 * </ul>
 * A lost connection closes its streams' channels, and their exchanges see the close. One that
 * died silently is found by its {@link Http2Keepalive}'s PING ({@code clusters[].http2}).
 */
final class Http2Connection extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(Http2Connection.class);
    /** 64 KiB, the HTTP/1.1 connections' response head limit ({@link UpstreamConnector}). */
    private static final int MAX_HEADER_LIST_SIZE = UpstreamConnector.MAX_RESPONSE_HEADER_SIZE;
    /**
     * 100: what RFC 9113 §6.5.2 advises an endpoint to allow at least. Until its SETTINGS come,
     * that many requests wait for a connection being opened, the rest open another.
     */
    static final int ASSUMED_MAX_STREAMS = 100;
    enum State { OPENING, READY, GOING_AWAY, CLOSED }

    private final Http2Pool pool;
    private final Endpoint endpoint;
    private final boolean secure;
    private final long idleTimeoutNanos;
    private final Promise<Http2Connection> ready;
    private final Http2FrameCodec codec;
    /** Null with {@code ping_interval: off}. */
    private final Http2Keepalive keepalive;
    private Channel channel;
    private Http2StreamChannelBootstrap streams;
    private long createdNanos;
    private State state = State.OPENING;
    /** The connect, the TLS handshake and ALPN's choice are done; and the endpoint's SETTINGS came. */
    private boolean transportReady;
    private boolean settingsReceived;
    /** Streams open or being opened, and requests waiting for this connection to be ready. */
    private int inUse;
    private ScheduledFuture<?> idleClose;

    /** A connection being opened: requests may wait for it ({@link #ready}) while it connects. */
    Http2Connection(Http2Pool pool, EventLoop loop, Endpoint endpoint, boolean secure, long idleTimeoutNanos,
                    UpstreamHttp2Config http2, LongSupplier nanoClock) {
        this.pool = pool;
        this.endpoint = endpoint;
        this.secure = secure;
        this.idleTimeoutNanos = idleTimeoutNanos;
        this.ready = loop.newPromise();
        this.codec = Http2FrameCodecBuilder.forClient()
                // No server push: an answer to a request nobody sent has nowhere to go.
                .initialSettings(Http2Settings.defaultSettings().pushEnabled(false)
                        .maxHeaderListSize(MAX_HEADER_LIST_SIZE))
                .validateHeaders(true)
                // Sluice closes a connection when no stream is left on it, or when none can finish (a
                // PING unanswered, a connection error, the gateway's end): Netty's graceful close
                // would hold one with streams open for up to 30 s more (its default).
                .gracefulShutdownTimeoutMillis(0)
                .build();
        this.keepalive = http2.pingInterval()
                .map(interval -> new Http2Keepalive(endpoint, codec, interval, http2.pingTimeout(), nanoClock))
                .orElse(null);
    }

    /**
     * The connection's handlers, after its TLS handler, in the pipeline from the start: the client
     * preface and Sluice's SETTINGS go out as soon as the connection (and its handshake) allow,
     * and the endpoint's first frames find the codec there.
     */
    ChannelHandler[] handlers() {
        // The streams' requests of one turn of the event loop (each written when its client's
        // read brought it) go out as one write: flushed one by one, each would be its own
        // write(2) on this shared connection, where HTTP/1.1 has one per connection anyway.
        FlushConsolidationHandler flushes = new FlushConsolidationHandler(
                FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true);
        Http2MultiplexHandler streams = new Http2MultiplexHandler(NoPushedStreams.INSTANCE);
        return keepalive == null ? new ChannelHandler[] {flushes, codec, streams, this}
                : new ChannelHandler[] {flushes, codec, keepalive, streams, this};
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        streams = new Http2StreamChannelBootstrap(channel)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, UpstreamConnector.WATER_MARK);
    }

    /**
     * Connected, with the TLS handshake done and {@code h2} chosen: ready once the endpoint's
     * SETTINGS came too, which must be within {@code timeoutMillis}.
     */
    void connected(long now, long timeoutMillis) {
        createdNanos = now;
        if (state != State.OPENING) {
            // Let go of (its endpoint retired) while it connected.
            channel.close();
            return;
        }
        transportReady = true;
        // After the codec's preface and SETTINGS: a slow client holds back its own stream only.
        Http2Windows.widenConnectionWindow(channel);
        becomeReadyIfSettled();
        if (state == State.OPENING) {
            channel.eventLoop().schedule(() -> {
                if (state == State.OPENING) {
                    ready.tryFailure(new ConnectTimeoutException(
                            "no HTTP/2 SETTINGS from " + endpoint + " within " + timeoutMillis + " ms"));
                    channel.close();
                }
            }, timeoutMillis, TimeUnit.MILLISECONDS);
        }
    }

    private void becomeReadyIfSettled() {
        if (state == State.OPENING && transportReady && settingsReceived) {
            state = State.READY;
            ready.trySuccess(this);
        }
    }

    /** The connect (or its TLS handshake) failed: the requests waiting for it fail with {@code cause}. */
    void notConnected(Throwable cause) {
        state = State.CLOSED;
        ready.tryFailure(cause);
        pool.leaving(this);
        if (channel != null) {
            channel.close();
        }
    }

    /** Completes when the endpoint's SETTINGS came; fails when the connection closed or timed out first. */
    Future<Http2Connection> ready() {
        return ready;
    }

    State state() {
        return state;
    }

    /** Whether one more stream may go on this connection now: ready, and under the endpoint's limit. */
    boolean hasRoom() {
        return state == State.READY && channel.isActive() && inUse < codec.connection().local().maxActiveStreams();
    }

    /** Whether a place reserved while it was opened fits under the limit the endpoint's SETTINGS gave. */
    boolean hasRoomForReserved() {
        return state == State.READY && channel.isActive() && inUse <= codec.connection().local().maxActiveStreams();
    }

    /** Ready, and no stream on it now. */
    boolean idle() {
        return state == State.READY && inUse == 0;
    }

    /** Whether one more request may wait for this connection still being opened. */
    boolean takesWaiters() {
        return state == State.OPENING && inUse < ASSUMED_MAX_STREAMS;
    }

    /** A place on this connection, taken before the stream is opened ({@link #openStream}) or given back ({@link #release}). */
    void reserve() {
        inUse++;
        if (idleClose != null) {
            idleClose.cancel(false);
            idleClose = null;
        }
    }

    /**
     * Opens a stream in a place {@link #reserve reserved}: its child channel with an
     * {@link Http2StreamCodec} and the {@link UpstreamConnection} the exchange uses. The
     * stream's id is given when its HEADERS go out.
     */
    Future<UpstreamConnection> openStream() {
        Promise<UpstreamConnection> opened = channel.eventLoop().newPromise();
        streams.open().addListener((Future<Http2StreamChannel> f) -> {
            if (!f.isSuccess()) {
                release();
                opened.tryFailure(f.cause());
                return;
            }
            Http2StreamChannel child = f.getNow();
            UpstreamConnection stream = UpstreamConnection.stream(endpoint, child, createdNanos);
            child.pipeline().addLast("h2", new Http2StreamCodec(secure)).addLast("exchange", stream);
            child.closeFuture().addListener(closed -> release());
            opened.trySuccess(stream);
        });
        return opened;
    }

    /** A stream closed, or a reserved place was not used: the last one out closes a connection going away, or starts its idle time. */
    void release() {
        if (--inUse > 0) {
            return;
        }
        switch (state) {
            case GOING_AWAY -> {
                if (channel != null) {
                    channel.close();
                }
            }
            case READY -> idleClose = channel.eventLoop().schedule(() -> {
                idleClose = null;
                if (inUse == 0 && state == State.READY) {
                    goAway();
                }
            }, idleTimeoutNanos, TimeUnit.NANOSECONDS);
            case OPENING, CLOSED -> { }
        }
    }

    /** No new streams: those in flight finish, then the connection closes (Netty sends GOAWAY). */
    void goAway() {
        if (state == State.CLOSED || state == State.GOING_AWAY) {
            return;
        }
        boolean opening = state == State.OPENING;
        state = State.GOING_AWAY;
        pool.leaving(this);
        if (opening) {
            ready.tryFailure(new ClosedChannelException());
        }
        if (inUse <= 0 && channel != null) {
            channel.close();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2SettingsFrame) {
            settingsReceived = true;
            becomeReadyIfSettled();
        } else if (msg instanceof Http2GoAwayFrame goAway) {
            LOG.debug("{} sent GOAWAY (last stream {}, error {})", endpoint, goAway.lastStreamId(), goAway.errorCode());
            goAway();
        }
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = State.CLOSED;
        if (idleClose != null) {
            idleClose.cancel(false);
            idleClose = null;
        }
        ready.tryFailure(new ClosedChannelException());
        pool.leaving(this);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A connection error (the codec has sent its GOAWAY) or a broken socket: the streams see the
        // close. Before the endpoint's SETTINGS it says why the connection never became one
        // (an HTTP/1.1 server answering the preface: an Http2Exception, a bad_response).
        LOG.debug("HTTP/2 connection to {} failed: {}", endpoint, cause.toString());
        ready.tryFailure(cause);
        ctx.close();
    }

    /** Closes it now, streams and all (the pool's endpoint left with the Sluice). */
    void close() {
        goAway();
        if (channel != null) {
            channel.close();
        }
    }

    /** Server push is off (SETTINGS_ENABLE_PUSH 0): a pushed stream is a protocol error, closed. */
    @ChannelHandler.Sharable
    static final class NoPushedStreams extends ChannelInboundHandlerAdapter {
        static final NoPushedStreams INSTANCE = new NoPushedStreams();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.close();
        }
    }
}
