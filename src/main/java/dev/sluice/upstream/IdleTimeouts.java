package dev.sluice.upstream;

import dev.sluice.config.ClusterConfig;

/**
 * How long an idle upstream connection may be reused: the one rule that keeps Sluice from
 * writing a request onto a socket the backend is closing (the keep-alive race behind most
 * "502 Bad Gateway" reports).
 */
public final class IdleTimeouts {
    /** 250 ms floor: covers a round trip and the scheduling delay on both ends even on a busy host. */
    static final long MIN_MARGIN_NANOS = 250_000_000L;

    private IdleTimeouts() {}

    /**
     * A request that cannot be retried (a POST without Idempotency-Key, a streamed body) rides a
     * pooled connection only if it has been idle less than this, until the backend's timeout is
     * known: 750 ms is below the shortest keep-alive timeout in common use (1 s), so the race
     * cannot happen even on the first request after an idle second.
     */
    public static final long UNLEARNED_NON_RETRYABLE_REUSE_NANOS = 750_000_000L;

    /** The backend's keep-alive timeout as far as Sluice knows it: the shorter of the two, or -1. */
    static long learnedNanos(long advertisedNanos, long observedNanos) {
        return advertisedNanos < 0 ? observedNanos
                : observedNanos < 0 ? advertisedNanos : Math.min(advertisedNanos, observedNanos);
    }

    /**
     * The idle time after which a connection is no longer handed out.
     *
     * <p>With {@code idle_timeout: auto}, the backend's keep-alive timeout T is learned from its
     * {@code Keep-Alive: timeout=T} header, or from watching it close an idle connection after T.
     * The connection then expires at T minus a margin of max(250 ms, T/10): the backend starts its
     * timer when it sent the last byte, we start ours when we received it, and our next request
     * needs one more one-way trip to arrive. {@link ClusterConfig#AUTO_IDLE_CAP} caps the result.
     * Until anything is learned, the cluster's idle timeout (default 4 s) applies. A fixed
     * {@code idle_timeout} is taken as written.
     *
     * @param advertisedNanos from the Keep-Alive header, or -1
     * @param observedNanos the shortest idle time after which the backend closed a connection, or -1
     */
    public static long expiryNanos(ClusterConfig cluster, long advertisedNanos, long observedNanos) {
        long learned = learnedNanos(advertisedNanos, observedNanos);
        if (!cluster.learnIdleTimeout() || learned < 0) {
            return cluster.idleTimeout().toNanos();
        }
        long margin = Math.max(MIN_MARGIN_NANOS, learned / 10);
        return Math.max(0, Math.min(ClusterConfig.AUTO_IDLE_CAP.toNanos(), learned - margin));
    }
}
