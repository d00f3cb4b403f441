package dev.sluice.exchange;

import dev.sluice.upstream.ConnectionPool;
import dev.sluice.upstream.Endpoint;
import dev.sluice.upstream.IdleTimeouts;
import dev.sluice.upstream.UpstreamConnection;

/** The acquire step's answer: a pooled connection to reuse, or a new one to make. */
sealed interface Acquire {
    record Pooled(UpstreamConnection connection) implements Acquire {}

    record Connect() implements Acquire {}

    Acquire CONNECT = new Connect();

    /**
     * How an attempt at {@code endpoint} gets its connection.
     *
     * @param freshOnly an earlier attempt of this request failed on a reused connection: a pooled
     *     connection was what failed (the backend may close or reset its idle ones), so the retry
     *     goes out on a new one. Without this, one request could meet three dying pooled
     *     connections in a row and fail for it.
     * @param retryableOnceSent whether a failure after sending could still be retried; one that
     *     could not only takes a connection too fresh to be closing, until the endpoint's
     *     keep-alive timeout is known (prevention before retries)
     */
    static Acquire from(ConnectionPool pool, Endpoint endpoint, boolean freshOnly, boolean retryableOnceSent, long now) {
        if (freshOnly) {
            return CONNECT;
        }
        long maxIdle = retryableOnceSent || endpoint.keepAliveTimeoutKnown()
                ? Long.MAX_VALUE : IdleTimeouts.UNLEARNED_NON_RETRYABLE_REUSE_NANOS;
        UpstreamConnection pooled = pool.acquire(now, maxIdle);
        return pooled == null ? CONNECT : new Pooled(pooled);
    }
}
