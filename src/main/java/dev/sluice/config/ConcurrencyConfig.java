package dev.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * How many requests a cluster may have in flight at once, and how many more may wait for a slot
 * ({@code clusters[].concurrency}). It guards against the accept-queue outage: an overloaded app
 * whose proxy kept sending, so requests queued in the kernel, timed out as 502/504, and made a
 * busy app look down. Over the limit, a request waits in the cluster's queue; a full queue, or a
 * wait past {@code queueTimeout}, gets a fast, honest 503 {@code overloaded} with
 * {@code Retry-After}, and the admitted requests keep their normal latency.
 *
 * @param mode {@code adaptive} (the limit follows the backend's latency), {@code fixed}, or
 *     {@code off} (no limit, no queue; the other fields are then unused)
 * @param limit the fixed limit; for {@code adaptive}, the limit it starts from
 * @param max the ceiling of the adaptive limit; never below {@code limit}
 * @param queue requests that may wait for a slot; 0 refuses a request over the limit at once
 * @param queueTimeout the longest a request waits for a slot (its route's timeout may cut it shorter)
 */
public record ConcurrencyConfig(Mode mode, int limit, int max, int queue, Duration queueTimeout) {

    /** Adaptive, on by default: the accept-queue outage happened behind a proxy left at its
     * defaults, and a backend's capacity is rarely known and changes with every deploy, so the
     * limit is measured (it falls when latency rises under load) rather than guessed. */
    public static final Mode DEFAULT_MODE = Mode.ADAPTIVE;
    /** 20, Netflix concurrency-limits' initial limit (Gradient2 and Vegas): the adaptive limit of a
     * cold cluster, until its first requests have ended and its first probe (25 requests, at most 3
     * at once) has measured the backend's latency without load. From there a small backend's limit
     * falls within a second or two, and a fast one's rises (it may double every tenth of a second);
     * the requests over it meanwhile wait in the queue (1000 deep), so none is refused while it moves. */
    public static final int DEFAULT_INITIAL_LIMIT = 20;
    /** 1000: well above the concurrency a healthy fast backend needs (bench/run: ~85k req/s over 50
     * connections to one endpoint), so the ceiling never sheds its load: by Little's law, 1000 in
     * flight at 10 ms carry 100k req/s. It only bounds a backend whose latency does not rise
     * until it falls over. Vegas' own default maximum. */
    public static final int DEFAULT_MAX = 1000;
    /** 1000, as many as may be in flight: a burst of up to twice the limit waits for a slot rather
     * than being refused. More than that is sustained overload, which a longer queue only turns
     * into latency and memory. */
    public static final int DEFAULT_QUEUE = 1000;
    /** 1 s: rides out a GC pause or a limit still rising, yet answers overload long before the
     * route's 30 s timeout and the client's own: a client told 503 with {@code Retry-After} in a
     * second can back off or go elsewhere; one left waiting 30 s retries into the same queue. */
    public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ofSeconds(1);

    public static final ConcurrencyConfig DEFAULT =
            new ConcurrencyConfig(DEFAULT_MODE, DEFAULT_INITIAL_LIMIT, DEFAULT_MAX, DEFAULT_QUEUE, DEFAULT_QUEUE_TIMEOUT);
    /** No limit and no queue: every request goes to the backend as before this setting existed. */
    public static final ConcurrencyConfig OFF =
            new ConcurrencyConfig(Mode.OFF, DEFAULT_INITIAL_LIMIT, DEFAULT_MAX, DEFAULT_QUEUE, DEFAULT_QUEUE_TIMEOUT);

    public ConcurrencyConfig {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(queueTimeout, "queueTimeout");
        // The binder reports these at their line; here they guard records built in code.
        if (limit < 1 || max < limit) {
            throw new IllegalArgumentException("limit " + limit + " must be from 1 to max " + max);
        }
        if (queue < 0 || !queueTimeout.isPositive()) {
            throw new IllegalArgumentException("queue " + queue + " must be 0 or more and queueTimeout "
                    + queueTimeout + " positive");
        }
    }

    /** A fixed limit with the default queue; the ceiling is the default one, or the limit when higher. */
    public static ConcurrencyConfig fixed(int limit) {
        return new ConcurrencyConfig(Mode.FIXED, limit, Math.max(DEFAULT_MAX, limit), DEFAULT_QUEUE,
                DEFAULT_QUEUE_TIMEOUT);
    }

    public enum Mode { ADAPTIVE, FIXED, OFF }
}
