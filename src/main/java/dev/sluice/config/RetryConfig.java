package dev.sluice.config;

import java.time.Duration;
import java.util.List;

/**
 * A route's retry settings ({@code routes[].retry}). What may be retried at all is fixed by
 * Sluice's safety rules (see docs/failures.md); these only tune how much, and add retries on
 * backend statuses, which no request gets unless its route asks.
 *
 * @param maxRetries retries after the first attempt for failures after the request was sent
 * @param retryOnStatus backend statuses that are retried (idempotent requests only), e.g. 503;
 *     a {@code Retry-After} on them is honoured when it fits in the route's timeout
 * @param backoff base of the jittered exponential backoff between attempts at the same request
 */
public record RetryConfig(int maxRetries, List<Integer> retryOnStatus, Duration backoff) {
    /** 2: one retry rides out a single bad endpoint or connection; more multiplies load in an outage. */
    public static final int DEFAULT_MAX_RETRIES = 2;
    /** 25 ms: long enough to let a backend's restart or a connection storm pass, short for a user. */
    public static final Duration DEFAULT_BACKOFF = Duration.ofMillis(25);

    public static final RetryConfig DEFAULT = new RetryConfig(DEFAULT_MAX_RETRIES, List.of(), DEFAULT_BACKOFF);

    public RetryConfig {
        retryOnStatus = List.copyOf(retryOnStatus);
    }
}
