package dev.sluice.server;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The connections of one listener on one event loop that hold a place while waiting for their
 * client: idle between requests (or connected and silent), and sending a request head that has not
 * all come. Each kind is a list in the order its members began waiting, with one timer: idle ones
 * are closed when the idle timeout runs out, heads are answered 408 when the header timeout does.
 * At the listener's limit, the one that has waited longest is closed to make room for a new
 * connection ({@link #closeLongestWaiting}; see {@link ConnectionLimit}).
 *
 * <p>Every member of a list has the same timeout, so a connection that begins waiting joins the
 * tail and the list stays in expiry order: joining and leaving are O(1) pointer writes
 * ({@link TimedConnection}), and only the first member's expiry is scheduled. A timer per
 * connection would cost every idle connection a scheduled task (80 bytes) and a slot in the event
 * loop's timer heap. A connection leaves through {@link #leave}.
 *
 * <p>Under connection pressure the idle timeout shrinks ({@link ConnectionLimit#sweepTimeoutNanos}).
 * It still applies to every member alike: each sweep reads the timeout in force as it runs and
 * closes every connection idle longer than that. While there is pressure an idle sweep comes at
 * least every {@link ConnectionLimit#recheckNanos}, and the connection that starts the pressure has
 * every list sweep at once ({@link #sweepIdleNow}); without pressure the sweep waits for the first
 * expiry. The header timeout does not shrink: a slow head is closed when its place is wanted,
 * which takes the slowest first and leaves a slow but honest client alone while there is room.
 *
 * <p>Confined to its event loop, like the connections in it, except {@link #waiting}, which the
 * accepting event loop reads to learn where a place can be made.
 */
final class WaitingConnections {
    /**
     * A sweep waits at least this long after the previous one, as the deadline wheel ticks: a
     * wave of timeouts running out microseconds apart (10,000 slow heads connected over a second)
     * is then closed 10 ms at a time, not by a timer per connection, each waking the event loop
     * from its I/O (in one pair of bench/slowloris runs that put 10,000 slow heads' 408s a second
     * later at the median than the wheel's ticks). A timeout is never applied early, and at most
     * this much late.
     */
    static final long LEAST_SWEEP_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(DeadlineWheel.TICK_MILLIS);

    private final EventLoop loop;
    private final ConnectionLimit limit;
    private final long headerTimeoutNanos;
    private final LongSupplier nanoTime;
    /** Members: when each went idle. */
    private final TimedConnection.Sentinel idle = new TimedConnection.Sentinel();
    /** Members: when each one's head began (or the response before it ended). */
    private final TimedConnection.Sentinel heads = new TimedConnection.Sentinel();
    private ScheduledFuture<?> idleSweep;
    private ScheduledFuture<?> headSweep;
    /** Members of both lists. */
    private int count;
    /** {@link #count} for other threads: written with a plain store (no fence on the request path). */
    private final AtomicInteger published = new AtomicInteger();

    WaitingConnections(EventLoop loop, ConnectionLimit limit, long headerTimeoutNanos, LongSupplier nanoTime) {
        this.loop = loop;
        this.limit = limit;
        this.headerTimeoutNanos = headerTimeoutNanos;
        this.nanoTime = nanoTime;
    }

    /** The connection went idle at {@code now}; closed once idle longer than the idle timeout, unless it leaves first. */
    void idleFrom(TimedConnection c, long now) {
        join(c, idle, now);
        if (idleSweep == null) {
            scheduleIdle(limit.sweepTimeoutNanos(now));
        }
    }

    /** The connection's head began at {@code now}: answered 408 unless it is all there within the header timeout. */
    void headFrom(TimedConnection c, long now) {
        join(c, heads, now);
        if (headSweep == null) {
            scheduleHeads(headerTimeoutNanos);
        }
    }

    private void join(TimedConnection c, TimedConnection.Sentinel list, long now) {
        if (!c.listed()) {
            counted(+1);
        }
        c.timedAt = now;
        c.append(list);
    }

    /** The connection, a member of one of these lists, stops waiting (a request began, or it closed). */
    void leave(TimedConnection c) {
        if (c.listed()) {
            c.unlink();
            counted(-1);
        }
    }

    private void counted(int change) {
        count += change;
        published.lazySet(count);
    }

    /** How many connections wait here now, as last published by this list's event loop. */
    int waiting() {
        return published.get();
    }

    /**
     * A connection was accepted in place of a waiting one (called on the accepting event loop):
     * this list's loop closes the one here that has waited longest, if it began waiting before
     * now, so never the new connection, registered meanwhile on this loop or another.
     */
    void makeRoom() {
        long acceptedAt = nanoTime.getAsLong();
        loop.execute(() -> closeLongestWaiting(acceptedAt));
    }

    /**
     * Makes room for a connection accepted at {@code acceptedAt}: closes the connection that has
     * waited longest here, idle or in its head, if it began waiting before then (never the new
     * one, nor one that made progress since it came). An idle one is closed; a head is answered
     * 408 {@code request_header_timeout}, as if its timeout had run out, since a head that slow is
     * what the timeout is for. Returns whether one was closed.
     */
    boolean closeLongestWaiting(long acceptedAt) {
        TimedConnection oldestIdle = idle.first();
        TimedConnection oldestHead = heads.first();
        boolean takeIdle = oldestHead == null
                || oldestIdle != null && oldestIdle.timedAt - oldestHead.timedAt <= 0;
        TimedConnection c = takeIdle ? oldestIdle : oldestHead;
        if (c == null || c.timedAt - acceptedAt >= 0) {
            return false;
        }
        leave(c);
        limit.evictedOne();
        if (takeIdle) {
            c.idleExpired();
        } else {
            c.deadlinePassed();
        }
        return true;
    }

    /** Pressure began: sweeps now with the shorter idle timeout rather than when the longer one would run out. */
    void sweepIdleNow() {
        if (idleSweep != null) {
            idleSweep.cancel(false);
        }
        expireIdle();
    }

    private void scheduleIdle(long delayNanos) {
        long delay = limit.underPressure() ? Math.min(delayNanos, limit.recheckNanos()) : delayNanos;
        idleSweep = loop.schedule(this::expireIdle, Math.max(delay, LEAST_SWEEP_GAP_NANOS), TimeUnit.NANOSECONDS);
    }

    private void scheduleHeads(long delayNanos) {
        headSweep = loop.schedule(this::expireHeads, Math.max(delayNanos, LEAST_SWEEP_GAP_NANOS), TimeUnit.NANOSECONDS);
    }

    private void expireIdle() {
        idleSweep = null;
        long now = nanoTime.getAsLong();
        // Read once: the connections this sweep closes lower the pressure, and with it the
        // timeout would rise again before the sweep is through the ones idle longer than it.
        long timeout = limit.sweepTimeoutNanos(now);
        TimedConnection c;
        while ((c = idle.first()) != null && now - c.timedAt >= timeout) {
            leave(c);
            c.idleExpired();
        }
        if (c != null) {
            scheduleIdle(c.timedAt + timeout - now);
        }
    }

    private void expireHeads() {
        headSweep = null;
        long now = nanoTime.getAsLong();
        TimedConnection c;
        while ((c = heads.first()) != null && now - c.timedAt >= headerTimeoutNanos) {
            leave(c);
            c.deadlinePassed();
        }
        if (c != null) {
            scheduleHeads(c.timedAt + headerTimeoutNanos - now);
        }
    }
}
