package dev.sluice.upstream;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keepalive PINGs of one HTTP/2 connection to an endpoint ({@code clusters[].http2}), on the
 * times {@link PingSchedule} decides. Between the connection's {@link Http2FrameCodec} and its
 * multiplexer, so it sees every frame the endpoint sends (a stream's too) and every HEADERS
 * Sluice sends: [tls] → FlushConsolidationHandler → Http2FrameCodec → Http2Keepalive →
 * Http2MultiplexHandler → {@link Http2Connection}.
 *
 * <p>A PING left unanswered closes the connection; the codec closes at once (its graceful
 * shutdown does not wait for streams: see {@link Http2Connection}), so its streams' channels
 * close and their exchanges fail them as for any connection lost: {@code reset_before_response}
 * (retried only where that is safe) or {@code response_truncated}.
 */
final class Http2Keepalive extends ChannelDuplexHandler {
    private static final Logger LOG = LoggerFactory.getLogger(Http2Keepalive.class);

    private final Endpoint endpoint;
    private final Http2FrameCodec codec;
    private final Duration interval;
    private final Duration timeout;
    private final LongSupplier nanoClock;
    private ChannelHandlerContext ctx;
    private PingSchedule schedule;
    private ScheduledFuture<?> timer;
    /** Read since the last read completed: any frame; HEADERS or DATA (what a gRPC server's PING count resets on). */
    private boolean framesRead;
    private boolean spoke;
    private long pingsSent;

    Http2Keepalive(Endpoint endpoint, Http2FrameCodec codec, Duration interval, Duration timeout, LongSupplier nanoClock) {
        this.endpoint = endpoint;
        this.codec = codec;
        this.interval = interval;
        this.timeout = timeout;
        this.nanoClock = nanoClock;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        schedule = new PingSchedule(interval.toNanos(), timeout.toNanos(), nanoClock.getAsLong());
        arm(interval.toNanos());
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        framesRead = true;
        if (msg instanceof Http2HeadersFrame || msg instanceof Http2DataFrame) {
            spoke = true;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // One clock read per burst of reads, not per frame.
        if (framesRead) {
            schedule.heard(nanoClock.getAsLong(), spoke);
            framesRead = false;
            spoke = false;
        }
        ctx.fireChannelReadComplete();
    }

    /** A stream's HEADERS (a new request, or trailers) on a connection quiet for an interval: asked about now. */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        boolean headers = msg instanceof Http2HeadersFrame;
        ctx.write(msg, promise);
        if (headers && ctx.channel().isActive()) {
            PingSchedule.Step step = schedule.next(nanoClock.getAsLong(), true);
            if (step.action() == PingSchedule.Action.PING) {
                ping(step);
            }
        }
    }

    private void tick() {
        timer = null;
        if (!ctx.channel().isOpen()) {
            return;
        }
        if (!ctx.channel().isActive()) {
            // Still connecting (h2c adds its handlers before the connect): nothing to ask yet.
            arm(interval.toNanos());
            return;
        }
        PingSchedule.Step step = schedule.next(nanoClock.getAsLong(), codec.connection().numActiveStreams() > 0);
        switch (step.action()) {
            case PING -> ping(step);
            case WAIT -> arm(step.delayNanos());
            case CLOSE -> {
                // A backend's connection gone without a word: worth an operator's look, as a wrong identity is.
                LOG.warn("HTTP/2 connection to {}: no answer to a PING within {} ms; closed, {} stream(s) on it fail",
                        endpoint, timeout.toMillis(), codec.connection().numActiveStreams());
                ctx.channel().close();
            }
        }
    }

    private void ping(PingSchedule.Step step) {
        ctx.writeAndFlush(new DefaultHttp2PingFrame(++pingsSent));
        arm(step.delayNanos());
    }

    private void arm(long delayNanos) {
        disarm();
        timer = ctx.executor().schedule(this::tick, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
