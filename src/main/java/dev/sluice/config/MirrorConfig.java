package dev.sluice.config;

import java.time.Duration;

/**
 * A route's traffic mirror ({@code routes[].mirror}): a copy of a sampled share of its requests
 * goes to another cluster (a staging one), fire and forget. The client's request never waits for
 * it, fails because of it or is slowed by it; what cannot be sent now is dropped and counted.
 *
 * @param cluster where the copies go
 * @param fraction the share of the route's requests copied, 0 to 1
 * @param maxBody the largest request body copied, in bytes; a request with a larger one is not mirrored
 * @param hostSuffix added to the copy's {@code Host} (before its port), so staging can tell the copies apart
 * @param maxInFlight copies at most in flight at once (across event loops); one more is dropped
 * @param timeout how long a copy may take, from its start to its response's end, before it is given up
 */
public record MirrorConfig(String cluster, double fraction, long maxBody, String hostSuffix, int maxInFlight,
                           Duration timeout) {

    /** 1: every request; a mirror is asked for to see staging under the real traffic's shape (the in-flight bound protects). */
    public static final double DEFAULT_FRACTION = 1.0;

    /** 1 MiB: covers API and form bodies; a copy's body parts are held while it is sent, so this bounds its memory. */
    public static final long DEFAULT_MAX_BODY = 1024 * 1024;

    /** {@code -shadow}: Envoy's request mirroring suffix, which staging setups already expect. */
    public static final String DEFAULT_HOST_SUFFIX = "-shadow";

    /**
     * 64: enough for a staging that answers in 10 ms to take ~6,000 copies a second; a staging that
     * hangs holds at most 64 connections and 64 × {@code max_body} of body parts, then copies are dropped.
     */
    public static final int DEFAULT_MAX_IN_FLIGHT = 64;

    /** 10 s: longer than a working staging takes; a hung one gives its in-flight places back after it. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    public MirrorConfig {
        if (!(fraction >= 0 && fraction <= 1) || maxBody < 0 || maxInFlight < 1 || timeout.isNegative()
                || timeout.isZero()) {
            throw new IllegalArgumentException("mirror out of range: " + fraction + ", " + maxBody + ", " + maxInFlight);
        }
    }

    /** With every default but the cluster. */
    public static MirrorConfig of(String cluster) {
        return new MirrorConfig(cluster, DEFAULT_FRACTION, DEFAULT_MAX_BODY, DEFAULT_HOST_SUFFIX, DEFAULT_MAX_IN_FLIGHT,
                DEFAULT_TIMEOUT);
    }
}
