package dev.sluice.upstream;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Idle connections to one endpoint, owned by one event loop (so no locks). Most recently used
 * first: warm connections are reused, and the cold ones at the tail expire.
 */
public final class ConnectionPool {
    private final EventLoop loop;
    private final LongSupplier nanoClock;
    private final int maxIdle;
    private final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    private ScheduledFuture<?> evictor;
    /** When {@link #evictor} runs, on the clock of {@code now}; meaningless while it is null. */
    private long evictAtNanos;

    ConnectionPool(EventLoop loop, LongSupplier nanoClock, int maxIdle) {
        this.loop = loop;
        this.nanoClock = nanoClock;
        this.maxIdle = maxIdle;
    }

    /** A usable idle connection, or null. Dead or expired ones met on the way are closed. */
    public UpstreamConnection acquire(long now) {
        return acquire(now, Long.MAX_VALUE);
    }

    /**
     * A usable connection idle for less than {@code maxIdleNanos}, or null; older ones stay
     * pooled for requests that may take them.
     */
    public UpstreamConnection acquire(long now, long maxIdleNanos) {
        UpstreamConnection c;
        while ((c = idle.peekFirst()) != null) {
            if (!c.usableAt(now)) {
                idle.pollFirst();
                discard(c);
                continue;
            }
            if (now - c.idleSinceNanos() >= maxIdleNanos) {
                return null;
            }
            return idle.pollFirst();
        }
        return null;
    }

    /**
     * Parks a connection whose exchange ended cleanly, unless the pool is full or the connection
     * could not be reused before it expires. Returns whether it was kept.
     */
    public boolean release(UpstreamConnection c, long now, long idleTimeoutNanos) {
        c.detach();
        long expiresAt = now + idleTimeoutNanos;
        if (idle.size() >= maxIdle || idleTimeoutNanos <= 0 || !c.hasRequestsLeft() || !c.channel().isActive()
                || c.endpoint().retired()) {
            c.close();
            return false;
        }
        c.parkIn(this, now, expiresAt);
        idle.addFirst(c);
        if (evictor == null || expiresAt < evictAtNanos) {
            // A shorter timeout than the pooled connections' (the endpoint has since learned its
            // backend's) must not wait for their eviction.
            if (evictor != null) {
                evictor.cancel(false);
            }
            scheduleEviction(now, idleTimeoutNanos);
        }
        return true;
    }

    /**
     * Closes a connection taken out of the pool as unusable, unless its socket is already closed:
     * then the backend closed it and Netty has yet to say so (channelInactive comes after the
     * current event-loop turn), and closing it here would claim the close as ours, so
     * {@link #closedWhileIdle} would not learn the backend's keep-alive timeout from it.
     */
    private static void discard(UpstreamConnection c) {
        if (c.channel().isActive()) {
            c.close();
        }
    }

    /**
     * An idle connection closed. When the backend closed it, the time it sat idle is the
     * backend's keep-alive timeout as seen from here, which the endpoint learns.
     */
    void closedWhileIdle(UpstreamConnection c, boolean byPeer) {
        idle.remove(c);
        if (byPeer) {
            c.endpoint().observeIdleClose(nanoClock.getAsLong() - c.idleSinceNanos());
        }
    }

    public int idleCount() {
        return idle.size();
    }

    /**
     * Closes every idle connection that expired by {@code now}. Returns the nanoseconds until
     * the next one expires, or -1 when the pool is empty.
     */
    long closeExpired(long now) {
        long next = Long.MAX_VALUE;
        for (Iterator<UpstreamConnection> it = idle.iterator(); it.hasNext(); ) {
            UpstreamConnection c = it.next();
            if (!c.usableAt(now)) {
                it.remove();
                discard(c);
            } else {
                next = Math.min(next, c.expiresAtNanos() - now);
            }
        }
        return next == Long.MAX_VALUE ? -1 : next;
    }

    /** Closes every idle connection (endpoint removed, or shutting down). */
    public void closeAll() {
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            c.close();
        }
    }

    private void scheduleEviction(long now, long delayNanos) {
        long delay = Math.max(delayNanos, 1_000_000L);
        evictAtNanos = now + delay;
        evictor = loop.schedule(this::evict, delay, TimeUnit.NANOSECONDS);
    }

    private void evict() {
        evictor = null;
        long now = nanoClock.getAsLong();
        long next = closeExpired(now);
        if (next >= 0) {
            scheduleEviction(now, next);
        }
    }
}
