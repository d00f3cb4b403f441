package dev.sluice.upstream;

import dev.sluice.http.KeepAlive;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;

/**
 * One HTTP/1.1 connection to an endpoint. Either carries exactly one exchange (its listener) or
 * sits idle in its {@link ConnectionPool}. While idle it keeps reading, so a backend's FIN or
 * RST closes it at once and it leaves the pool before anyone can pick it.
 *
 * <p>Or one HTTP/2 stream to an endpoint ({@link #multiplexed()}): its channel is the stream's
 * child channel, whose {@link Http2StreamCodec} turns the same request and response objects into
 * frames; it carries one exchange and closes with it, never pooled (its connection is shared:
 * {@link Http2Connection}).
 */
public final class UpstreamConnection extends ChannelInboundHandlerAdapter {
    /** Writes a request's head or body part with the connection's handler context. */
    interface Writer {
        void write(ChannelHandlerContext ctx, Object part, ChannelPromise promise);
    }

    /** An HTTP/2 stream's: its codec is a handler ahead of the connection's in the stream's pipeline. */
    private static final Writer THROUGH_PIPELINE = ChannelHandlerContext::write;

    private final Endpoint endpoint;
    private final Channel channel;
    /** Writes requests: called with this handler's context, see {@link UpstreamCodec}. */
    private final Writer encoder;
    private final boolean multiplexed;
    private ChannelHandlerContext ctx;
    private final long createdNanos;
    private UpstreamListener listener = UpstreamListener.NONE;
    private ConnectionPool pool;
    private long idleSinceNanos;
    private long expiresAtNanos;
    private int exchanges;
    /** Learned from {@code Keep-Alive: timeout=N}; -1 while unknown. */
    private long learnedTimeoutNanos = -1;
    /** Learned from {@code Keep-Alive: max=M}; the backend closes after that many requests. */
    private int learnedMaxExchanges = Integer.MAX_VALUE;
    private boolean closedByUs;

    UpstreamConnection(Endpoint endpoint, Channel channel, UpstreamCodec.Encoder encoder, long createdNanos) {
        this(endpoint, channel, encoder::write, false, createdNanos);
    }

    private UpstreamConnection(Endpoint endpoint, Channel channel, Writer encoder, boolean multiplexed,
                               long createdNanos) {
        this.endpoint = endpoint;
        this.channel = channel;
        this.encoder = encoder;
        this.multiplexed = multiplexed;
        this.createdNanos = createdNanos;
    }

    /** An HTTP/2 stream to {@code endpoint}, on {@code stream}'s child channel. */
    static UpstreamConnection stream(Endpoint endpoint, Channel stream, long createdNanos) {
        return new UpstreamConnection(endpoint, stream, THROUGH_PIPELINE, true, createdNanos);
    }

    /**
     * Whether {@code cause}, with which a stream closed, says the endpoint never processed its
     * request (a GOAWAY below its id, RST_STREAM REFUSED_STREAM): it may be sent again whatever its method.
     */
    public static boolean streamRefused(Throwable cause) {
        return cause == Http2StreamCodec.REFUSED;
    }

    /** An HTTP/2 stream: carries one exchange, is closed when it ends, never goes to a pool. */
    public boolean multiplexed() {
        return multiplexed;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Writes a request's head or body part; {@code promise} is completed when it is on the
     * socket (or has failed). Flushed by {@link #flush}.
     */
    public void write(HttpObject part, ChannelPromise promise) {
        try {
            encoder.write(ctx, part, promise);
        } catch (RuntimeException e) {
            // What the pipeline did when the encoder was a handler in it: the promise fails, or,
            // when nobody waits on it, the connection does.
            if (promise.isVoid()) {
                exceptionCaught(ctx, e);
            } else {
                promise.tryFailure(e);
            }
        }
    }

    /** Writes a request's head or body part, nobody waiting on it: see {@link #write(HttpObject, ChannelPromise)}. */
    public void write(HttpObject part) {
        write(part, channel.voidPromise());
    }

    public void flush() {
        ctx.flush();
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    public Channel channel() {
        return channel;
    }

    public long createdNanos() {
        return createdNanos;
    }

    public int exchanges() {
        return exchanges;
    }

    /** How long this connection sat idle before its current exchange, given when it was taken. */
    public long idleSinceNanos() {
        return idleSinceNanos;
    }

    /** Binds the connection to an exchange; its responses now go to {@code listener}. */
    public void attach(UpstreamListener listener) {
        this.listener = listener;
        this.pool = null;
        exchanges++;
    }

    public void detach() {
        this.listener = UpstreamListener.NONE;
    }

    /** Records what the backend advertised in {@code Keep-Alive}; see {@link KeepAlive}. */
    public void learn(KeepAlive keepAlive) {
        if (keepAlive.timeoutSeconds() >= 0) {
            learnedTimeoutNanos = keepAlive.timeoutSeconds() * 1_000_000_000L;
            endpoint.advertisedKeepAlive(learnedTimeoutNanos);
        }
        if (keepAlive.max() >= 0) {
            // "max" counts the requests the backend still accepts, this one included.
            learnedMaxExchanges = exchanges + keepAlive.max() - 1;
        }
    }

    /** How long this connection may now sit idle and still be reused; see {@link IdleTimeouts}. */
    public long idleTimeoutNanos(dev.sluice.config.ClusterConfig cluster) {
        long observed = endpoint.observedIdleCloseNanos();
        if (!cluster.learnIdleTimeout()) {
            long learned = IdleTimeouts.learnedNanos(learnedTimeoutNanos, observed);
            if (learned >= 0 && cluster.idleTimeout().toNanos() >= learned) {
                endpoint.warnIdleTimeoutRace(cluster.idleTimeout(), learned);
            }
        }
        return IdleTimeouts.expiryNanos(cluster, learnedTimeoutNanos, observed);
    }



    boolean hasRequestsLeft() {
        return exchanges < learnedMaxExchanges;
    }

    void parkIn(ConnectionPool pool, long now, long expiresAtNanos) {
        this.pool = pool;
        this.listener = UpstreamListener.NONE;
        this.idleSinceNanos = now;
        this.expiresAtNanos = expiresAtNanos;
        if (!channel.config().isAutoRead()) {
            // Keep reading while idle, so a backend's FIN or RST is seen at once.
            channel.config().setAutoRead(true);
        }
    }

    long expiresAtNanos() {
        return expiresAtNanos;
    }

    /** Usable for a new request: open in both directions, not expired, not out of requests. */
    boolean usableAt(long now) {
        return channel.isActive() && now < expiresAtNanos && hasRequestsLeft()
                && !(channel instanceof io.netty.channel.socket.DuplexChannel d && (d.isInputShutdown() || d.isOutputShutdown()));
    }

    public void close() {
        closedByUs = true;
        channel.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (listener == UpstreamListener.NONE) {
            // A backend speaking while idle (a late or unsolicited response) cannot be trusted
            // with the next request: drop the connection.
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        listener.onResponseObject(this, msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        listener.onUpstreamReadComplete(this);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        listener.onUpstreamWritabilityChanged(this);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (pool != null) {
            pool.closedWhileIdle(this, !closedByUs);
        }
        listener.onUpstreamClosed(this, null);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        UpstreamListener current = listener;
        listener = UpstreamListener.NONE;
        ctx.close();
        current.onUpstreamClosed(this, cause);
    }
}
