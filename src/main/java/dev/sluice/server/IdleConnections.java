package dev.sluice.server;

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
 * writes ({@link TimedConnection}), and only the oldest connection's expiry is scheduled. A timer
 * per connection would cost every idle connection a scheduled task (80 bytes) and a slot in the
 * event loop's timer heap. A connection leaves the list with {@link TimedConnection#unlink}.
 *
 * <p>Confined to its event loop, like the connections in it: no locks.
 */
final class IdleConnections {
    private final EventLoop loop;
    private final long timeoutNanos;
    private final LongSupplier nanoTime;
    private final TimedConnection.Sentinel members = new TimedConnection.Sentinel();
    private ScheduledFuture<?> sweep;

    IdleConnections(EventLoop loop, long timeoutNanos, LongSupplier nanoTime) {
        this.loop = loop;
        this.timeoutNanos = timeoutNanos;
        this.nanoTime = nanoTime;
    }

    /** The connection went idle at {@code now}; it is closed at now + the idle timeout unless it leaves first. */
    void add(TimedConnection c, long now) {
        c.timedAt = now;
        c.append(members);
        if (sweep == null) {
            schedule(timeoutNanos);
        }
    }

    private void schedule(long delayNanos) {
        sweep = loop.schedule(this::expire, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void expire() {
        sweep = null;
        long now = nanoTime.getAsLong();
        TimedConnection c;
        while ((c = members.first()) != null && now - c.timedAt >= timeoutNanos) {
            c.unlink();
            c.idleExpired();
        }
        if (c != null) {
            schedule(c.timedAt + timeoutNanos - now);
        }
    }
}
