package dev.sluice.resilience;

import com.netflix.concurrency.limits.Limit;
import com.netflix.concurrency.limits.limit.FixedLimit;
import dev.sluice.config.ConcurrencyConfig;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;

/**
 * How many requests a cluster takes at once: a limit (adaptive, {@link BaselineLimit}, or fixed),
 * and a bounded queue for the requests over it. A request that finds a slot goes on; one that
 * does not waits in the queue until a slot frees, its wait ends (the caller's timeout), or finds
 * the queue full; a request that cannot wait is shed, which the caller answers with a fast,
 * honest 503. Admitted requests thus keep the latency the cluster gives at its limit, instead of
 * queueing in the backend's accept queue until they time out as 502s and 504s.
 *
 * <p>Shared by every event loop: counts are atomics and the queue is lock-free, so no event loop
 * waits for another. The limit learns from samples (a request's time from admission to its end),
 * which each event loop gathers into windows of its own and hands to the limit about ten times a
 * second: its update is synchronized, and a lock taken per request by every event loop is what
 * the data plane must not have. Only while the limit probes the backend's baseline (a few dozen
 * requests, at three at once) does each sample go to it on its own.
 */
public final class ConcurrencyGate {
    /** A window closes after this long and at least {@link #WINDOW_SAMPLES} samples: ~10 updates a second per event loop. */
    private static final long WINDOW_NANOS = 100_000_000L;
    private static final int WINDOW_SAMPLES = 10;

    /** The answer of {@link #enqueue}. */
    public sealed interface Entry {
        /** Waiting: the waiter is called when a slot is its own, unless {@link Wait#withdraw} wins first. */
        record Queued(Wait place) implements Entry {}

        /** The queue is full: shed the request. */
        record Full() implements Entry {}
    }

    /** A request over the limit: told, on any thread, exactly once, that it holds a slot now. */
    public interface Waiter {
        void admitted();
    }

    private static final Entry FULL = new Entry.Full();

    private final ConcurrencyConfig config;
    /** Null when the gate is off: every request is admitted and nothing is counted. */
    private final Limit limit;
    /** The limit when adaptive, which learns from samples; null when fixed or off. */
    private final BaselineLimit adaptive;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ConcurrentLinkedQueue<Wait> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final LongAdder shed = new LongAdder();
    private final FastThreadLocal<Window> windows = new FastThreadLocal<>() {
        @Override
        protected Window initialValue() {
            return new Window();
        }
    };

    public ConcurrencyGate(ConcurrencyConfig config) {
        this(config, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** @param random uniform in [0, 1): the jitter of the adaptive limit's probes */
    ConcurrencyGate(ConcurrencyConfig config, DoubleSupplier random) {
        this.config = config;
        this.adaptive = config.mode() == ConcurrencyConfig.Mode.ADAPTIVE
                ? new BaselineLimit(Math.min(config.limit(), config.max()), config.max(), random)
                : null;
        this.limit = switch (config.mode()) {
            case OFF -> null;
            case FIXED -> FixedLimit.of(config.limit());
            case ADAPTIVE -> adaptive;
        };
    }

    public ConcurrencyConfig config() {
        return config;
    }

    /** Takes a slot if one is free now: the common case, which allocates nothing. Give it back with {@link #exit}. */
    public boolean tryEnter() {
        return limit == null || tryTake();
    }

    /** Over the limit at {@code now}: queues {@code waiter} for a slot, or says the queue is full. */
    public Entry enqueue(Waiter waiter, long now) {
        if (adaptive != null && adaptive.probing()) {
            // A probe ends by its time even when its requests take longer than it.
            adaptive.queuedAt(now);
        }
        if (queued.incrementAndGet() > config.queue()) {
            queued.decrementAndGet();
            shed.increment();
            return FULL;
        }
        Wait wait = new Wait(waiter);
        queue.add(wait);
        // A slot may have come free between tryTake and add, with nobody queued to take it.
        handOver();
        return new Entry.Queued(wait);
    }

    /**
     * A request admitted earlier ended: its slot is handed to the next in the queue, or freed.
     *
     * @param admittedNanos when it was admitted; {@code now - admittedNanos} is a sample for the adaptive limit
     * @param dropped whether Sluice answered it with a failure: counted in the windows (a timeout is
     *     overload), never in a probe of the baseline (a refused connect takes no time, and would teach
     *     the limit a backend faster than it is)
     */
    public void exit(long admittedNanos, long now, boolean dropped) {
        if (limit == null) {
            return;
        }
        int before = inFlight.getAndDecrement();
        // A request whose client left as it was handed its slot never ran: no sample.
        if (adaptive != null && now > admittedNanos) {
            if (adaptive.probing()) {
                if (!dropped) {
                    adaptive.onSample(admittedNanos, now - admittedNanos, before, false);
                }
            } else if (adaptive.tellsOfTheLimit(admittedNanos)) {
                windows.get().add(now - admittedNanos, before, !queue.isEmpty(), adaptive, now);
            }
        }
        handOver();
    }

    /** Gives free slots to waiting requests, oldest first, while there are both. */
    private void handOver() {
        while (!queue.isEmpty() && tryTake()) {
            Wait next;
            boolean given = false;
            while ((next = queue.poll()) != null) {
                if (next.claim()) {
                    queued.decrementAndGet();
                    next.waiter.admitted();
                    given = true;
                    break;
                }
            }
            if (!given) {
                inFlight.decrementAndGet();
                return;
            }
        }
    }

    private boolean tryTake() {
        while (true) {
            int n = inFlight.get();
            if (n >= limit.getLimit()) {
                return false;
            }
            if (inFlight.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** A queued request's place, which either the gate (a slot for it) or the request (it gave up) claims first. */
    public final class Wait {
        private final Waiter waiter;
        private final AtomicBoolean claimed = new AtomicBoolean();

        private Wait(Waiter waiter) {
            this.waiter = waiter;
        }

        private boolean claim() {
            return claimed.compareAndSet(false, true);
        }

        /**
         * The request stops waiting (its wait timed out, or its client left). Returns true when it
         * was still waiting, so the caller sheds it; false when a slot was already handed to it
         * (the waiter is being called: it must give the slot back).
         */
        public boolean withdraw(boolean timedOut) {
            if (!claim()) {
                return false;
            }
            queue.remove(this);
            queued.decrementAndGet();
            if (timedOut) {
                shed.increment();
            }
            return true;
        }
    }

    /** The current limit (the configured one when fixed; none when off). */
    public int limit() {
        return limit == null ? 0 : limit.getLimit();
    }

    public int inFlight() {
        return inFlight.get();
    }

    public int queued() {
        return queued.get();
    }

    /** Requests turned away so far: the queue was full, or their wait ran out. */
    public long shed() {
        return shed.sum();
    }

    /** Whether the adaptive limit is measuring the backend's baseline latency (at {@link BaselineLimit#PROBE_CONCURRENCY} at once). */
    public boolean probing() {
        return adaptive != null && adaptive.probing();
    }

    /** The adaptive limit's baseline (the backend's latency without load) in nanoseconds; 0 when not learned or not adaptive. */
    public long baselineNanos() {
        return adaptive == null ? 0 : adaptive.baselineNanos();
    }

    /**
     * One event loop's samples since its last update of the limit: their mean time and the most
     * in flight, handed over as one (as Netflix's WindowedLimit does with an average window).
     */
    private static final class Window {
        private long start;
        private long sum;
        private int count;
        private int maxInFlight;
        private boolean waited;

        void add(long nanos, int inFlight, boolean queueing, BaselineLimit limit, long now) {
            if (count == 0) {
                start = now;
            }
            sum += nanos;
            count++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            waited |= queueing;
            if (count >= WINDOW_SAMPLES && now - start >= WINDOW_NANOS) {
                limit.windowEnded(now, sum / count, maxInFlight, waited);
                count = 0;
                sum = 0;
                maxInFlight = 0;
                waited = false;
            }
        }
    }
}
