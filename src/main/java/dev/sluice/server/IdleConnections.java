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
 * <p>Under connection pressure the timeout shrinks ({@link ConnectionLimit#sweepTimeoutNanos}). It
 * still applies to every member alike, so the list stays in expiry order: each sweep reads the
 * timeout in force as it runs and closes every connection idle longer than that. While there is
 * pressure a sweep comes at least every {@link ConnectionLimit#recheckNanos}, and the connection
 * that starts the pressure has every list sweep at once ({@link #sweepNow}); without pressure the
 * sweep waits for the first expiry.
 *
 * <p>Confined to its event loop, like the connections in it: no locks.
 */
final class IdleConnections {
    private final EventLoop loop;
    private final ConnectionLimit limit;
    private final LongSupplier nanoTime;
    private final TimedConnection.Sentinel members = new TimedConnection.Sentinel();
    private ScheduledFuture<?> sweep;

    IdleConnections(EventLoop loop, ConnectionLimit limit, LongSupplier nanoTime) {
        this.loop = loop;
        this.limit = limit;
        this.nanoTime = nanoTime;
    }

    /** The connection went idle at {@code now}; it is closed once idle longer than the idle timeout, unless it leaves first. */
    void add(TimedConnection c, long now) {
        c.timedAt = now;
        c.append(members);
        if (sweep == null) {
            schedule(limit.sweepTimeoutNanos(now));
        }
    }

    /** Pressure began: sweeps now with the shorter timeout rather than when the longer one would run out. */
    void sweepNow() {
        if (sweep != null) {
            sweep.cancel(false);
        }
        expire();
    }

    private void schedule(long delayNanos) {
        long delay = limit.underPressure() ? Math.min(delayNanos, limit.recheckNanos()) : delayNanos;
        sweep = loop.schedule(this::expire, delay, TimeUnit.NANOSECONDS);
    }

    private void expire() {
        sweep = null;
        long now = nanoTime.getAsLong();
        // Read once: the connections this sweep closes lower the pressure, and with it the
        // timeout would rise again before the sweep is through the ones idle longer than it.
        long timeout = limit.sweepTimeoutNanos(now);
        TimedConnection c;
        while ((c = members.first()) != null && now - c.timedAt >= timeout) {
            c.unlink();
            c.idleExpired();
        }
        if (c != null) {
            schedule(c.timedAt + timeout - now);
        }
    }
}
