package dev.sluice.server;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/**
 * A listener's {@code max_connections}: how many of its client connections are open, whether one
 * more may open (and at the limit, whether it may open in place of a waiting one), and how long an
 * idle one may stay given how full the listener is.
 *
 * <p>Pressure, as Envoy's overload manager scales its timers (a "scaled trigger" driving
 * {@code reduce_timeouts}): up to 80% of the limit the idle timeout is the configured one; from
 * there it falls in a straight line to {@code idle_timeout_under_pressure}, reached at 95%. Idle
 * clients then make room for active ones before the limit refuses anyone; 95% and not 100%, so
 * that at the limit idle connections already last only the short timeout.
 *
 * <p>The idle lists of every event loop apply one timeout, sampled from the count at most once per
 * {@link #recheckNanos} (as Envoy's overload manager samples its resources every refresh
 * interval): a sweep that closes connections lowers the count, and a sweep on another loop a
 * moment later must not read that as the pressure gone and keep its own idle connections.
 *
 * <p>At the limit a new connection is not refused while a connection is waiting for its client
 * (idle, or still sending its head, in a {@link WaitingConnections}): it opens, and the one that
 * has waited longest is closed to make room, as nginx closes its oldest idle ("reusable")
 * connections when it runs out. Refusing instead hands the listener to whoever holds connections
 * open without finishing a request: 10,000 slowloris clients against 9,872 slots had 81% of a
 * normal client's new connections refused (docs/performance.md, "Slow clients"). A connection
 * whose request is in flight is never closed for room; when every one is, the new one is refused.
 *
 * <p>Shared by the event loops that accept and close the listener's connections: one atomic count
 * (a compare-and-set per accepted connection, a decrement per close), no lock.
 */
final class ConnectionLimit {
    /** Pressure begins above 80% of the limit: the idle timeout starts to shrink. */
    private static final int BEGINS_PERCENT = 80;
    /** At 95% and above the idle timeout is the one under pressure. */
    private static final int SATURATES_PERCENT = 95;
    /**
     * Under pressure, an idle list's sweep runs at least once a second (or once per timeout under
     * pressure, if shorter), so a timeout that shrank since the sweep was scheduled is applied
     * within that time; without pressure the timeout is fixed and the sweep waits for the first
     * expiry, however far.
     */
    private static final long MOST_RECHECK_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * Descriptors kept for everything but connections: the JVM's own (its jars, the epoll and
     * event descriptors of each event loop), the admin listener, the access log and the config
     * and state files. A running Sluice with two event loops holds 24; 256 leaves room.
     */
    static final int RESERVED_FILES = 256;
    /**
     * Assumed where the JVM cannot tell the open-files limit (not a Unix); 65,536 is a common
     * server setting, and far below what Linux containers get by default (1,048,576).
     */
    static final long UNKNOWN_OPEN_FILES_LIMIT = 65_536;
    /**
     * How far past the limit connections may open while room is made for them: each is counted in
     * at once, and the waiting connection it replaces is closed a moment later on its own event
     * loop. 64 is four of Netty's accept batches (16 connections a read), far more than are ever
     * being replaced at once, and a small part of the descriptors {@link #autoLimit} leaves
     * beside the limit. It also bounds a replacement that finds nobody left to close (the
     * waiting ones began a request meanwhile): the count stays above the limit until enough
     * connections close.
     */
    static final int MOST_OPENING_IN_PLACE = 64;

    /** What {@link #tryOpen} decided. */
    enum Opened {
        /** Past the limit, and no connection is waiting to give its place: close the new one. */
        REFUSED,
        OPENED,
        /** Opened, and it is the one that took the listener above 80%: idle lists should sweep now. */
        PRESSURE_BEGAN,
        /** Opened at the limit: the connection that has waited longest must be closed to make room. */
        IN_PLACE_OF_WAITING
    }

    /** The idle timeout the sweeps apply, and when it was worked out. */
    private record Sample(long timeoutNanos, long takenAt) {
        /** None yet, or pressure just began: the next sweep works it out afresh. */
        static final Sample NONE = new Sample(0, 0);
    }

    private final AtomicInteger open = new AtomicInteger();
    private volatile Sample sample = Sample.NONE;
    /** Shared by the listeners of one name across reloads, so the counters in /metrics never go back. */
    private final AtomicLong refused;
    private final AtomicLong evicted;
    private final long idleTimeoutNanos;
    private final long underPressureNanos;
    private volatile int max;

    /**
     * @param refused where connections refused at the limit are counted
     * @param evicted where waiting connections closed to make room are counted
     */
    ConnectionLimit(int max, long idleTimeoutNanos, long underPressureNanos, AtomicLong refused, AtomicLong evicted) {
        this.idleTimeoutNanos = idleTimeoutNanos;
        this.underPressureNanos = Math.min(underPressureNanos, idleTimeoutNanos);
        this.refused = refused;
        this.evicted = evicted;
        limitTo(max);
    }

    /**
     * The {@code auto} limit of one listener: half the descriptors left once {@link #RESERVED_FILES}
     * are set aside, since each proxied request holds two (its client's and its upstream
     * connection, as HAProxy reckons when it derives maxconn from {@code ulimit -n}), shared
     * equally by {@code listeners}, so a flood on one listener never takes the descriptors another
     * needs; at least 1.
     */
    static int autoLimit(long openFilesLimit, int listeners) {
        long share = (openFilesLimit - RESERVED_FILES) / 2 / Math.max(1, listeners);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, share));
    }

    /**
     * The process's open-files limit. The JVM raises its soft limit to the hard one as it starts
     * ({@code -XX:+MaxFDLimit}, on by default), so this is what {@code ulimit -Hn} (or systemd's
     * {@code LimitNOFILE}) allowed it.
     */
    static long openFilesLimit() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            long limit = unix.getMaxFileDescriptorCount();
            if (limit > 0) {
                return limit;
            }
        }
        return UNKNOWN_OPEN_FILES_LIMIT;
    }

    void limitTo(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("a connection limit must be at least 1: " + max);
        }
        this.max = max;
    }

    /**
     * Counts a new connection in: below the limit; at it, in place of one of the {@code waiting}
     * connections (asked only then), no more than {@link #MOST_OPENING_IN_PLACE} past it.
     */
    Opened tryOpen(IntSupplier waiting) {
        int limit = max;
        while (true) {
            int n = open.get();
            if (n >= limit) {
                if (n - limit < MOST_OPENING_IN_PLACE && waiting.getAsInt() > 0) {
                    if (open.compareAndSet(n, n + 1)) {
                        return Opened.IN_PLACE_OF_WAITING;
                    }
                    continue;
                }
                refused.incrementAndGet();
                return Opened.REFUSED;
            }
            if (open.compareAndSet(n, n + 1)) {
                if (!aboveBeginning(n, limit) && aboveBeginning(n + 1, limit)) {
                    sample = Sample.NONE;
                    return Opened.PRESSURE_BEGAN;
                }
                return Opened.OPENED;
            }
        }
    }

    /** A connection {@link #tryOpen} let in has closed. */
    void closed() {
        open.decrementAndGet();
    }

    /** A waiting connection was closed to make room for a new one. */
    void evictedOne() {
        evicted.incrementAndGet();
    }

    private static boolean aboveBeginning(int open, int limit) {
        return (long) open * 100 > (long) limit * BEGINS_PERCENT;
    }

    boolean underPressure() {
        return aboveBeginning(open.get(), max);
    }

    /** The idle timeout now: the configured one without pressure, shrinking as the listener fills. */
    long idleTimeoutNanos() {
        int limit = max;
        long percentTimes100 = (long) open.get() * 10_000 / limit; // hundredths of a percent
        long begins = BEGINS_PERCENT * 100L;
        long saturates = SATURATES_PERCENT * 100L;
        if (percentTimes100 <= begins) {
            return idleTimeoutNanos;
        }
        if (percentTimes100 >= saturates) {
            return underPressureNanos;
        }
        // Divided first, so no idle timeout overflows; what is lost is under 1.5 µs.
        long perStep = (idleTimeoutNanos - underPressureNanos) / (saturates - begins);
        return idleTimeoutNanos - perStep * (percentTimes100 - begins);
    }

    /**
     * The idle timeout a sweep at {@code now} applies: {@link #idleTimeoutNanos} as it was at most
     * {@link #recheckNanos} ago, so the sweeps of all event loops in that time agree.
     */
    long sweepTimeoutNanos(long now) {
        Sample last = sample;
        if (last == Sample.NONE || now - last.takenAt() >= recheckNanos()) {
            last = new Sample(idleTimeoutNanos(), now);
            sample = last;
        }
        return last.timeoutNanos();
    }

    /** How long an idle list's sweep may wait while there is pressure: see {@link #MOST_RECHECK_NANOS}. */
    long recheckNanos() {
        return Math.min(underPressureNanos, MOST_RECHECK_NANOS);
    }

    int open() {
        return open.get();
    }

    int max() {
        return max;
    }

    long refused() {
        return refused.get();
    }

    long evicted() {
        return evicted.get();
    }
}
