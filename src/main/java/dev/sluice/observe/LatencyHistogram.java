package dev.sluice.observe;

import java.util.concurrent.atomic.LongAdder;

/**
 * Durations counted into fixed buckets, for a Prometheus histogram. Recording is a short scan of
 * the bounds and two {@link LongAdder} increments: no lock, no allocation, and event loops
 * recording at once touch cells of their own.
 *
 * <p>The bounds are the same for every histogram Sluice exports (so total and upstream latency
 * can be compared bucket by bucket) and are explained in {@code docs/metrics.md}: 0.5 ms and 1 ms
 * for what Sluice answers itself and its own overhead; 2.5 ms to 1 s in 1-2.5-5 steps, where
 * proxied requests live, so a quantile is read within a factor of 2.5; 2.5 s above the 2 s default
 * connect timeout; 5 s, 10 s; 30 s, the default route timeout, so requests that ran into it sit
 * above that bound; 60 s for long polls; then +Inf.
 */
public final class LatencyHistogram {
    /** The upper bounds in seconds, as exported ({@code le}); +Inf follows. */
    public static final double[] BOUNDS_SECONDS = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    private static final long[] BOUNDS_NANOS = new long[BOUNDS_SECONDS.length];

    static {
        for (int i = 0; i < BOUNDS_SECONDS.length; i++) {
            BOUNDS_NANOS[i] = Math.round(BOUNDS_SECONDS[i] * 1e9);
        }
    }

    /** One per bound, then one for +Inf: not cumulative (the exposition adds them up). */
    private final LongAdder[] buckets = new LongAdder[BOUNDS_NANOS.length + 1];
    private final LongAdder sumNanos = new LongAdder();

    public LatencyHistogram() {
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = new LongAdder();
        }
    }

    public void record(long nanos) {
        int i = 0;
        while (i < BOUNDS_NANOS.length && nanos > BOUNDS_NANOS[i]) {
            i++;
        }
        buckets[i].increment();
        sumNanos.add(nanos);
    }

    /** The count of each bucket, +Inf last, not cumulative. */
    public long[] counts() {
        long[] counts = new long[buckets.length];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = buckets[i].sum();
        }
        return counts;
    }

    public double sumSeconds() {
        return sumNanos.sum() / 1e9;
    }
}
