package dev.sluice.resilience;

import com.netflix.concurrency.limits.Limit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

/**
 * The adaptive limit: as many requests at once as keep the backend's latency near what it is
 * without load. Its baseline, that latency, is measured as Envoy's adaptive concurrency filter
 * measures its minRTT: with the limit pinned to {@link #PROBE_CONCURRENCY} for a few dozen
 * requests: first as soon as the cluster's first window of samples closes (a cold start learns it
 * from its first few dozen requests), again
 * {@link #SECOND_PROBE_NANOS} later, then every {@link #PROBE_INTERVAL_NANOS} or so, jittered so
 * that replicas do not probe together. In between, each window of samples moves the limit by the gradient
 * {@code target / latency}, where the target is the baseline plus {@link #TOLERANCE} and
 * {@link #SLACK_NANOS}: a backend past its capacity answers later in proportion to what waits
 * in it, so the limit settles near the concurrency the backend really has.
 *
 * <p>Why not Netflix's Gradient2, which it replaces (docs/performance.md, "Overload"): its long-term
 * latency was fed the overloaded samples and drifted up with them, a cold start had no baseline
 * at all, and its tolerance of 1.5 and fixed queue allowance of 4 settled at 3-4× the backend's
 * latency. Here the baseline is only ever measured at a concurrency the backend can take, so
 * nothing under overload moves it, and the limit has no allowance beyond the tolerance.
 *
 * <p>Thread-safe: updates are synchronized, and called about ten times a second per event loop
 * (the gate's windows); only during a probe does each request's sample come here, and a probe
 * lasts a few dozen requests. {@link #getLimit} and {@link #probing} read volatile fields.
 */
public final class BaselineLimit implements Limit {
    /** 3: Envoy's {@code min_concurrency}. Low enough that a backend of a few workers does not queue, so
     * the latency measured is its latency without load; high enough that traffic keeps flowing. */
    static final int PROBE_CONCURRENCY = 3;
    /** Requests whose mean latency is the baseline: 25 keep a 40 ms backend's probe to ~0.3 s. */
    static final int PROBE_SAMPLES = 25;
    /** A probe ends after 2 s with what it has, so a backend of slow requests is not held at
     * {@link #PROBE_CONCURRENCY} for long; without a single sample, the baseline stays as it was. */
    static final long PROBE_MAX_NANOS = 2_000_000_000L;
    /** 30 s, plus up to {@link #PROBE_JITTER} of it at random: a backend whose latency changed (a deploy,
     * a slower database) is re-learned within half a minute, at the price of ~1% of a slow backend's
     * throughput (0.3 s of 30 at three requests at once); a fast one's probe takes a few ms. */
    static final long PROBE_INTERVAL_NANOS = 30_000_000_000L;
    static final double PROBE_JITTER = 0.15;
    /** 5 s after the first probe, the second: the first ran on a cold start, over new connections and
     * code not yet compiled, which made a 40 ms backend look slower than it was (bench/overload: a limit of
     * 6-7 instead of 4-5 until the next probe). */
    static final long SECOND_PROBE_NANOS = 5_000_000_000L;
    /** 1.1: a backend answering 10% slower than without load is queueing; one answering at 1.5× (Gradient2's
     * tolerance) already has half its capacity waiting in it, which is what this limit is there to stop. */
    static final double TOLERANCE = 1.1;
    /** 10 ms on top of the tolerance: the samples are the proxy's own times, so a fast backend's latency (a
     * fraction of a millisecond) grows with the proxy's event loop, a busy machine's scheduling and GC
     * pauses, none of which is the backend queueing. With 2 ms, a fast nginx behind 50-100 wrk connections
     * on a loaded 2-core machine was taken to a limit of 3-6 and 500-1,400 req/s. 10 ms of queueing is not
     * the outage this limit prevents. */
    static final long SLACK_NANOS = 10_000_000L;
    /** One window at most halves the limit or doubles it: one stray window (a GC pause) cannot empty it. */
    static final double MIN_GRADIENT = 0.5;
    static final double MAX_GRADIENT = 2.0;

    private final int max;
    /**
     * The floor: the probes' concurrency, at which the backend answered in its baseline. A backend
     * slow at that concurrency is slow for another reason than the requests in it (starved of CPU,
     * a slow dependency), and fewer would only cost it throughput; below the floor, a noisy window
     * would push the limit down faster than windows at the baseline raise it.
     */
    private final int min;
    private final DoubleSupplier random;
    private final List<Consumer<Integer>> onChange = new CopyOnWriteArrayList<>();

    private volatile int current;
    private volatile boolean probing;
    /** When the limit last fell, or a probe ended; 0 (with {@link #changed} false) before either. */
    private volatile long lastChange;
    private volatile boolean changed;

    /** The learned limit; unchanged while probing. */
    private double limit;
    /** The backend's latency without load, in nanoseconds; 0 until the first probe has a sample. */
    private long baseline;
    private long nextProbe;
    /** Requests admitted before this time ran at the limit the probe replaced, and are not its samples. */
    private long probeStart;
    private long probeEnd;
    private long probeSum;
    private int probeCount;
    private int probes;

    /**
     * @param initial the limit once the first probe is done, until the gradient moves it
     * @param max its ceiling
     * @param random uniform in [0, 1), for the jitter of the probes' interval
     */
    public BaselineLimit(int initial, int max, DoubleSupplier random) {
        if (initial < 1 || max < initial) {
            throw new IllegalArgumentException("initial " + initial + " must be from 1 to max " + max);
        }
        this.max = max;
        this.min = Math.min(PROBE_CONCURRENCY, max);
        this.random = random;
        this.limit = initial;
        // Until its first window of samples, nothing is known of the backend: the initial limit, and the
        // first probe then. Not before: a cold cluster's first requests may be long (held open, long
        // polls), and a probe held at 3 from the first request would queue the fourth behind them.
        this.current = initial;
    }

    @Override
    public int getLimit() {
        return current;
    }

    /** Whether a probe is on: each request's sample goes to {@link #onSample}, not into a window. */
    public boolean probing() {
        return probing;
    }

    /**
     * Whether a request admitted at {@code admittedNanos} tells of the limit as it is: one admitted
     * before the limit last fell ran beside more requests than the limit now allows, and one admitted
     * during a probe beside fewer. Left out of the windows, they would make the limit fall again for
     * what it already fell for: a flood that met a limit of 20 took it to 3 before its requests at 20
     * had ended, where 5 was right (bench/overload).
     */
    public boolean tellsOfTheLimit(long admittedNanos) {
        return !changed || admittedNanos - lastChange >= 0;
    }

    /** The backend's latency without load as last measured, in nanoseconds; 0 before the first probe. */
    public synchronized long baselineNanos() {
        return baseline;
    }

    @Override
    public void notifyOnChange(Consumer<Integer> consumer) {
        onChange.add(consumer);
    }

    /**
     * One request's sample, while probing: admitted at {@code startTime}, it took {@code rtt}
     * nanoseconds. Outside a probe, samples come as windows ({@link #windowEnded}).
     */
    @Override
    public synchronized void onSample(long startTime, long rtt, int inflight, boolean didDrop) {
        if (!probing) {
            return;
        }
        long now = startTime + rtt;
        if (startTime >= probeStart) {
            probeSum += rtt;
            probeCount++;
        }
        if (probeCount >= PROBE_SAMPLES) {
            endProbe(now);
        } else {
            probeClock(now);
        }
    }

    /** A request had to queue at {@code now}: ends a probe that has run its time even when no request ends. */
    public synchronized void queuedAt(long now) {
        if (probing) {
            probeClock(now);
        }
    }

    /**
     * One event loop's window of samples ended at {@code now}: their mean latency, the most
     * requests that were in flight as one ended, and whether any request waited in the queue. Moves the limit by the gradient, or starts a probe
     * when one is due.
     */
    public synchronized void windowEnded(long now, long meanRtt, int maxInFlight, boolean waited) {
        if (probing) {
            return;
        }
        if (probes == 0 || now - nextProbe >= 0) {
            startProbe(now);
            return;
        }
        if (baseline == 0 || meanRtt <= 0) {
            return;
        }
        double target = baseline * TOLERANCE + SLACK_NANOS;
        double gradient = Math.max(MIN_GRADIENT, Math.min(MAX_GRADIENT, target / meanRtt));
        // Latency under the target says the backend could take more only when the limit was in use:
        // a limit far above what the traffic needs would otherwise grow without anything to show for it.
        if (gradient >= 1 && maxInFlight < limit / 2) {
            return;
        }
        // And latency over the target lowers the limit only when requests waited for it: a limit no
        // request waited for holds nothing back, and what slows the requests is not their number.
        if (gradient < 1 && !waited) {
            return;
        }
        double before = limit;
        limit = Math.max(min, Math.min(max, limit * gradient));
        if ((int) limit < (int) before) {
            changedAt(now);
        }
        publish((int) limit);
    }

    private void startProbe(long now) {
        probing = true;
        probeStart = now;
        probeEnd = now + PROBE_MAX_NANOS;
        probeSum = 0;
        probeCount = 0;
        publish(min);
    }

    private void probeClock(long now) {
        if (now - probeEnd >= 0) {
            endProbe(now);
        }
    }

    private void endProbe(long now) {
        if (probeCount > 0) {
            baseline = Math.max(1, probeSum / probeCount);
        }
        probing = false;
        probes++;
        changedAt(now);
        long interval = probes == 1 ? SECOND_PROBE_NANOS : PROBE_INTERVAL_NANOS;
        nextProbe = now + interval + (long) (interval * PROBE_JITTER * random.getAsDouble());
        publish((int) limit);
    }

    private void changedAt(long now) {
        lastChange = now;
        changed = true;
    }

    private void publish(int next) {
        if (next != current) {
            current = next;
            for (Consumer<Integer> consumer : onChange) {
                consumer.accept(next);
            }
        }
    }
}
