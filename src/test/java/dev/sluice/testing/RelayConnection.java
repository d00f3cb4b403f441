package dev.sluice.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * One client connection through a {@link FaultRelay} and its connection to the target: two {@link Pipe}s,
 * client→target ("up") and target→client ("down"), that apply the relay's current faults.
 *
 * <p>Everything here runs on the client channel's event loop, which the target channel shares, so no
 * state needs locking. Auto-read is off on both channels: a side is read again only while the other
 * side is writable and little is queued (backpressure). Half-closes are relayed as half-closes, resets
 * as resets, so the proxy under test sees what it would see from a real peer.
 */
final class RelayConnection {
    // Bytes a pipe may hold for delayed delivery before it stops reading its source.
    private static final int QUEUE_HIGH_WATER = 256 * 1024;

    private final FaultRelay relay;
    private final Channel client;
    private Channel target;
    private final Pipe up = new Pipe(true);
    private final Pipe down = new Pipe(false);
    private boolean blackholedForLife;
    private boolean resetting; // a reset is decided; nothing more is forwarded either way
    private boolean closed;
    private long lastActivityNanos = System.nanoTime();
    private Future<?> idleTimer;

    RelayConnection(FaultRelay relay, Channel client) {
        this.relay = relay;
        this.client = client;
    }

    /** The handler for both channels; {@code clientSide} says which one it sits on. */
    ChannelInboundHandlerAdapter handler(boolean clientSide) {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                if (clientSide) {
                    start();
                }
                ctx.fireChannelActive();
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof ByteBuf buf) {
                    from(clientSide).onRead(buf);
                } else {
                    ReferenceCountUtil.release(msg);
                }
            }

            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                to(clientSide).maybeReadMore();
                ctx.fireChannelWritabilityChanged();
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                    from(clientSide).onSourceEof();
                }
                ReferenceCountUtil.release(evt);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                onInactive(clientSide);
                ctx.fireChannelInactive();
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                // Typically ECONNRESET from a peer: relay it as a reset to the other side.
                reset();
            }
        };
    }

    Channel client() {
        return client;
    }

    private Pipe from(boolean clientSide) {
        return clientSide ? up : down;
    }

    private Pipe to(boolean clientSide) {
        return clientSide ? down : up;
    }

    private void start() {
        relay.opened(this);
        if (relay.blackholed()) {
            blackholedForLife = true;
            client.read();
            armIdleTimer();
            return;
        }
        ChannelFuture connect = new Bootstrap()
                .group(client.eventLoop())
                .channel(NioSocketChannel.class)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(handler(false))
                .connect(relay.target());
        relay.track(connect.channel());
        connect.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                client.close(); // target down: the client sees its connection accepted, then closed
                return;
            }
            if (closed) {
                f.channel().close();
                return;
            }
            target = f.channel();
            client.read();
            target.read();
            armIdleTimer();
        });
    }

    private void onInactive(boolean clientSide) {
        if (closed) {
            return;
        }
        // Deliver what the gone side already sent, then half-close the other side; nothing can reach the gone side.
        to(clientSide).destinationGone();
        from(clientSide).onSourceEof();
    }

    /** Closes both sides with FIN, dropping anything queued. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        cancelIdleTimer();
        up.discard();
        down.discard();
        client.close();
        if (target != null) {
            target.close();
        }
    }

    /** Resets both sides: SO_LINGER 0 then close, so each peer gets an RST. */
    void reset() {
        if (closed) {
            return;
        }
        closed = true;
        relay.countReset();
        cancelIdleTimer();
        up.discard();
        down.discard();
        resetChannel(client);
        resetChannel(target);
    }

    private static void resetChannel(Channel ch) {
        if (ch != null && ch.isOpen()) {
            try {
                ch.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException alreadyClosing) {
                // closes below either way
            }
            ch.close();
        }
    }

    /** (Re)schedules the idle check for the relay's current idle timeout; cancels it if there is none. */
    void armIdleTimer() {
        cancelIdleTimer();
        Duration idle = relay.idleTimeout();
        if (idle == null || closed) {
            return;
        }
        long due = lastActivityNanos + idle.toNanos() - System.nanoTime();
        idleTimer = client.eventLoop().schedule(this::idleCheck, Math.max(0, due), TimeUnit.NANOSECONDS);
    }

    private void idleCheck() {
        idleTimer = null;
        Duration idle = relay.idleTimeout();
        if (closed || idle == null) {
            return;
        }
        boolean quiet = up.isEmpty() && down.isEmpty();
        if (quiet && System.nanoTime() - lastActivityNanos >= idle.toNanos()) {
            relay.countIdleClose();
            close();
        } else {
            armIdleTimer();
        }
    }

    private void cancelIdleTimer() {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
    }

    private void bothDirectionsFinished() {
        if (up.finished && down.finished) {
            close();
        }
    }

    private sealed interface Item permits Chunk, ResetMark {
        long releaseAt();
    }

    private record Chunk(ByteBuf buf, long releaseAt) implements Item {}

    private record ResetMark(long releaseAt) implements Item {}

    /** One direction of the relay: reads its source, holds bytes for the configured delay, writes its destination. */
    private final class Pipe {
        private final boolean upstream;
        private final ArrayDeque<Item> queue = new ArrayDeque<>();
        private long queuedBytes;
        private long lastReleaseAt;
        private Future<?> drainTask;
        private boolean sourceEof;
        private boolean finished;
        private Object resetMode; // the relay's upstream reset setting this pipe last saw
        private long resetBudget = -1; // bytes still to forward before resetting; -1: no reset pending

        Pipe(boolean upstream) {
            this.upstream = upstream;
        }

        private Channel source() {
            return upstream ? client : target;
        }

        private Channel destination() {
            return upstream ? target : client;
        }

        boolean isEmpty() {
            return queue.isEmpty();
        }

        void onRead(ByteBuf buf) {
            lastActivityNanos = System.nanoTime();
            if (closed || resetting || finished) {
                buf.release();
                return;
            }
            if (blackholedForLife || relay.blackholed()) {
                buf.release();
                source().read();
                return;
            }
            updateResetBudget();
            int n = buf.readableBytes();
            if (resetBudget >= 0 && n >= resetBudget) {
                // The budget runs out in this read: forward exactly the budget, then reset both sides.
                int forward = (int) resetBudget;
                if (forward > 0) {
                    enqueue(buf.readRetainedSlice(forward));
                }
                buf.release();
                resetting = true;
                queue.add(new ResetMark(nextReleaseAt()));
                (upstream ? down : up).discard();
                drain();
                return;
            }
            if (resetBudget > 0) {
                resetBudget -= n;
            }
            enqueue(buf);
            drain();
        }

        private void updateResetBudget() {
            if (upstream) {
                Object mode = relay.upstreamResetMode();
                if (mode != resetMode) {
                    resetMode = mode;
                    resetBudget = relay.upstreamResetBytes(mode); // counted from when the setting is first seen
                }
            } else if (resetBudget < 0) {
                resetBudget = relay.claimNextResponseBudget();
            }
        }

        private void enqueue(ByteBuf buf) {
            int n = buf.readableBytes();
            queue.add(new Chunk(buf, nextReleaseAt()));
            queuedBytes += n;
            relay.countForwarded(upstream, n);
        }

        private long nextReleaseAt() {
            // Never earlier than the previous item: a shortened delay must not reorder bytes.
            long at = Math.max(System.nanoTime() + relay.delayNanos(), lastReleaseAt);
            lastReleaseAt = at;
            return at;
        }

        private void drain() {
            drainTask = null;
            if (closed) {
                discard();
                return;
            }
            Channel dst = destination();
            long now = System.nanoTime();
            boolean wrote = false;
            while (!queue.isEmpty() && queue.peek().releaseAt() <= now) {
                Item item = queue.poll();
                if (item instanceof Chunk chunk) {
                    queuedBytes -= chunk.buf().readableBytes();
                    dst.write(chunk.buf()).addListener(this::onWritten);
                    wrote = true;
                } else {
                    // Reset only after the forwarded bytes were handed to the socket.
                    dst.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> reset());
                    discard();
                    return;
                }
            }
            if (wrote) {
                dst.flush();
            }
            if (!queue.isEmpty()) {
                drainTask = client.eventLoop().schedule(this::drain, queue.peek().releaseAt() - now, TimeUnit.NANOSECONDS);
            } else if (sourceEof) {
                finish();
            }
            maybeReadMore();
        }

        private void onWritten(io.netty.util.concurrent.Future<? super Void> f) {
            if (!f.isSuccess()) {
                reset(); // the destination reset us: pass it on
            }
        }

        void maybeReadMore() {
            Channel src = source();
            Channel dst = destination();
            if (src != null && dst != null && !closed && !sourceEof && !resetting && !finished
                    && queuedBytes < QUEUE_HIGH_WATER && dst.isWritable()) {
                src.read();
            }
        }

        void onSourceEof() {
            if (sourceEof) {
                return;
            }
            sourceEof = true;
            if (queue.isEmpty() && !closed) {
                finish();
            }
        }

        /** Source ended and everything was forwarded: half-close the destination. */
        private void finish() {
            if (finished) {
                return;
            }
            finished = true;
            Channel dst = destination();
            if (dst instanceof SocketChannel socket && dst.isActive()) {
                dst.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                    if (socket.isActive()) {
                        socket.shutdownOutput().addListener(s -> bothDirectionsFinished());
                    } else {
                        bothDirectionsFinished();
                    }
                });
            } else {
                bothDirectionsFinished();
            }
        }

        /** The destination is gone: drop what is queued and stop. */
        void destinationGone() {
            discard();
            finished = true;
            sourceEof = true;
            bothDirectionsFinished();
        }

        void discard() {
            if (drainTask != null) {
                drainTask.cancel(false);
                drainTask = null;
            }
            for (Item item : queue) {
                if (item instanceof Chunk chunk) {
                    chunk.buf().release();
                }
            }
            queue.clear();
            queuedBytes = 0;
        }
    }
}
