package dev.sluice.resilience;

/** What to do after a failed attempt: a value, so tests and the access log can read it. */
public sealed interface RetryDecision {
    /**
     * Why, from a closed set: the {@code decision} label of {@code sluice_retry_decisions_total}
     * (the access log's {@code decision} field says it in words, with the numbers).
     */
    enum Why {
        /** A pooled connection died before use: the same request on a fresh connection. */
        RETRIED_FRESH_CONNECTION,
        /** Unprocessed: failed over to the next endpoint at once. */
        RETRIED_NEXT_ENDPOINT,
        /** A failure on an idempotent request, tried again after a backoff. */
        RETRIED_AFTER_BACKOFF,
        /** A status the route retries. */
        RETRIED_STATUS,
        STOPPED_RESPONSE_STARTED,
        STOPPED_BODY_STREAMED,
        /** The failure kind (or status) is not one that is retried. */
        STOPPED_NOT_RETRYABLE,
        STOPPED_NOT_IDEMPOTENT,
        STOPPED_RETRY_LIMIT,
        STOPPED_EVERY_ENDPOINT_TRIED,
        /** The backoff would pass the route's timeout. */
        STOPPED_TIMEOUT,
        STOPPED_BUDGET_EXHAUSTED;

        private final String label = name().toLowerCase(java.util.Locale.ROOT);

        /** The snake_case name used as the metric label. */
        public String label() {
            return label;
        }
    }

    /** The reason, as written to the access log's {@code decision} field. */
    String reason();

    Why why();

    /** @param delayNanos how long to wait before the next attempt (jittered backoff, Retry-After) */
    record Retry(Why why, String reason, long delayNanos) implements RetryDecision {}

    record Stop(Why why, String reason) implements RetryDecision {}

    static RetryDecision retry(Why why, String reason) {
        return new Retry(why, "retried: " + reason, 0);
    }

    static RetryDecision retryAfter(Why why, String reason, long delayNanos) {
        return new Retry(why, "retried: " + reason, delayNanos);
    }

    default long delayNanos() {
        return this instanceof Retry r ? r.delayNanos() : 0;
    }

    static RetryDecision stop(Why why, String reason) {
        return new Stop(why, "not retried: " + reason);
    }

    default boolean retries() {
        return this instanceof Retry;
    }
}
