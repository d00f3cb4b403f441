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
     * The idle time after which a connection is no longer handed out.
     *
     * <p>With {@code idle_timeout: auto} and a learned backend timeout T, the connection expires at
     * T minus a margin of max(250 ms, T/10): the backend starts its timer when it sent the last
     * byte, we start ours when we received it, and our next request needs one more one-way trip to
     * arrive. {@link ClusterConfig#AUTO_IDLE_CAP} caps the result. Until the backend advertised
     * anything, the cluster's idle timeout (default 4 s) applies. A fixed {@code idle_timeout} is
     * taken as written.
     */
    public static long expiryNanos(ClusterConfig cluster, long learnedTimeoutNanos) {
        if (!cluster.learnIdleTimeout() || learnedTimeoutNanos < 0) {
            return cluster.idleTimeout().toNanos();
        }
        long margin = Math.max(MIN_MARGIN_NANOS, learnedTimeoutNanos / 10);
        return Math.max(0, Math.min(ClusterConfig.AUTO_IDLE_CAP.toNanos(), learnedTimeoutNanos - margin));
    }
}
