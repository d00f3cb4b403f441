package dev.sluice.server;

import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The idle keep-alive connections of one listener on one event loop, oldest first, and the one
 * timer that closes them when their idle timeout runs out.
 *
 * <p>Every connection of a listener has the same idle timeout, so a connection that goes idle
 * joins the tail and the list stays in expiry order: joining and leaving are O(1) pointer
 * writes, and only the oldest connection's expiry is scheduled. A timer per connection (as the
 * header, body and response deadlines have, while a request is in flight) would cost every idle
 * connection a scheduled task (80 bytes) and a slot in the event loop's timer heap.
 *
 * <p>Confined to its event loop, like the connections in it: no locks.
 */
final class IdleConnections {
    /**
     * A client connection's handler, as the list sees it: its links and when it went idle, kept
     * in the handler itself so that joining the list allocates nothing.
     */
    abstract static class Member extends ChannelInboundHandlerAdapter {
        Member idlePrev;
        Member idleNext;
        long idleSince;
        boolean idleListed;

        /** The idle timeout ran out: close the connection. */
        abstract void idleExpired();
    }

    private final EventLoop loop;
    private final long timeoutNanos;
    private final LongSupplier nanoTime;
    private Member head;
    private Member tail;
    private ScheduledFuture<?> sweep;

    IdleConnections(EventLoop loop, long timeoutNanos, LongSupplier nanoTime) {
        this.loop = loop;
        this.timeoutNanos = timeoutNanos;
        this.nanoTime = nanoTime;
    }

    /** The connection went idle at {@code now}; it is closed at now + the idle timeout unless it leaves first. */
    void add(Member m, long now) {
        if (m.idleListed) {
            unlink(m);
        }
        m.idleSince = now;
        m.idleListed = true;
        m.idlePrev = tail;
        m.idleNext = null;
        if (tail == null) {
            head = m;
        } else {
            tail.idleNext = m;
        }
        tail = m;
        if (sweep == null) {
            schedule(timeoutNanos);
        }
    }

    /** The connection is busy again, or closed. */
    void remove(Member m) {
        if (m.idleListed) {
            unlink(m);
        }
    }

    private void unlink(Member m) {
        Member prev = m.idlePrev;
        Member next = m.idleNext;
        if (prev == null) {
            head = next;
        } else {
            prev.idleNext = next;
        }
        if (next == null) {
            tail = prev;
        } else {
            next.idlePrev = prev;
        }
        m.idlePrev = null;
        m.idleNext = null;
        m.idleListed = false;
    }

    private void schedule(long delayNanos) {
        sweep = loop.schedule(this::expire, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void expire() {
        sweep = null;
        long now = nanoTime.getAsLong();
        Member m;
        while ((m = head) != null && now - m.idleSince >= timeoutNanos) {
            unlink(m);
            m.idleExpired();
        }
        if (head != null) {
            schedule(head.idleSince + timeoutNanos - now);
        }
    }
}
