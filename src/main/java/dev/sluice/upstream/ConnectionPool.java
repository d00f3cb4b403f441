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
                c.close();
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
        if (evictor == null) {
            scheduleEviction(idleTimeoutNanos);
        }
        return true;
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
                c.close();
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

    private void scheduleEviction(long delayNanos) {
        evictor = loop.schedule(this::evict, Math.max(delayNanos, 1_000_000L), TimeUnit.NANOSECONDS);
    }

    private void evict() {
        evictor = null;
        long next = closeExpired(nanoClock.getAsLong());
        if (next >= 0) {
            scheduleEviction(next);
        }
    }
}
