package dev.sluice.server;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The header, body and response deadlines of every client connection on one event loop: a hashed
 * timing wheel of {@value #SLOTS} slots of {@value #TICK_MILLIS} ms, swept by one timer.
 *
 * <p>Almost every deadline is disarmed before it passes: a request is answered long before its
 * route's timeout. A scheduled task per deadline cost each request an allocation, a heap insert
 * and a cancellation (4% of the event loop's time under load). Here arming is a few pointer
 * writes into the slot of the tick the deadline falls in ({@link TimedConnection}), and
 * disarming is {@link TimedConnection#unlink}.
 *
 * <p>A deadline never fires early, and fires at most one tick (plus the event loop's delay) late.
 * A connection may move its deadline later without re-arming, by writing {@code timedAt}: the
 * sweep puts it back in the slot of its new deadline. A deadline more than one turn of the wheel
 * away ({@value #SLOTS} × {@value #TICK_MILLIS} ms) is looked at once per turn until it is near.
 *
 * <p>Confined to its event loop: no locks.
 */
final class DeadlineWheel {
    private static final Logger LOG = LoggerFactory.getLogger(DeadlineWheel.class);
    static final int TICK_MILLIS = 10;
    static final int SLOTS = 512;
    private static final long TICK_NANOS = TICK_MILLIS * 1_000_000L;
    private static final int MASK = SLOTS - 1;

    private final EventLoop loop;
    private final LongSupplier nanoTime;
    /** Ticks are counted from here, so that they are never negative. */
    private final long origin;
    private final TimedConnection.Sentinel[] slots = new TimedConnection.Sentinel[SLOTS];
    /** The slot being swept: its entries are taken out first, so the sweep sees each once. */
    private final TimedConnection.Sentinel sweeping = new TimedConnection.Sentinel();
    /** Every tick up to this one has been swept. */
    private long sweptTick;
    private ScheduledFuture<?> sweep;
    /** The tick the scheduled sweep is for. */
    private long sweepTick;
    /** A sweep is running: it schedules the next one when it ends. */
    private boolean sweepingNow;

    DeadlineWheel(EventLoop loop, LongSupplier nanoTime) {
        this.loop = loop;
        this.nanoTime = nanoTime;
        this.origin = nanoTime.getAsLong();
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = new TimedConnection.Sentinel();
        }
    }

    /** Arms {@code c}'s deadline at {@code atNanos} (leaving any list it is in). */
    void add(TimedConnection c, long atNanos) {
        c.timedAt = atNanos;
        long tick = Math.max(tickAtOrAfter(atNanos), sweptTick + 1);
        c.append(slots[(int) (tick & MASK)]);
        if (!sweepingNow && (sweep == null || tick < sweepTick)) {
            if (sweep != null) {
                sweep.cancel(false);
            }
            schedule(tick);
        }
    }

    private long tickAtOrAfter(long atNanos) {
        return Math.max(0, Math.ceilDiv(atNanos - origin, TICK_NANOS));
    }

    private void schedule(long tick) {
        sweepTick = tick;
        long delay = Math.max(0, origin + tick * TICK_NANOS - nanoTime.getAsLong());
        sweep = loop.schedule(this::sweep, delay, TimeUnit.NANOSECONDS);
    }

    private void sweep() {
        sweep = null;
        sweepingNow = true;
        try {
            long now = nanoTime.getAsLong();
            long nowTick = Math.floorDiv(now - origin, TICK_NANOS);
            // Behind by more than a turn (a stalled loop): each slot once is every slot.
            long from = Math.max(sweptTick + 1, nowTick - MASK);
            for (long tick = from; tick <= nowTick; tick++) {
                sweptTick = tick;
                sweepSlot(slots[(int) (tick & MASK)], now);
            }
            sweptTick = Math.max(sweptTick, nowTick);
        } finally {
            // An Error out of a handler leaves the rest of its slot here: file it where the next
            // sweep looks, so those deadlines still fire (a tick late) instead of never.
            slots[(int) ((sweptTick + 1) & MASK)].takeAll(sweeping);
            sweepingNow = false;
            long next = nextOccupiedTick();
            if (next >= 0) {
                schedule(next);
            }
        }
    }

    private void sweepSlot(TimedConnection.Sentinel slot, long now) {
        sweeping.takeAll(slot);
        TimedConnection c;
        while ((c = sweeping.first()) != null) {
            if (c.timedAt - now > 0) {
                // Due in a later turn, or moved later: back in the slot of its deadline.
                add(c, c.timedAt);
                continue;
            }
            c.unlink();
            try {
                c.deadlinePassed();
            } catch (RuntimeException e) {
                // One connection's failure must not stop the others' deadlines.
                LOG.warn("a connection's deadline handler failed", e);
            }
        }
    }

    /** The first tick after the swept ones whose slot holds an entry; -1 when the wheel is empty. */
    private long nextOccupiedTick() {
        for (long tick = sweptTick + 1; tick <= sweptTick + SLOTS; tick++) {
            if (!slots[(int) (tick & MASK)].isEmpty()) {
                return tick;
            }
        }
        return -1;
    }
}
