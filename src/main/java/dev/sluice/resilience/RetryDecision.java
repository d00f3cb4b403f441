package dev.sluice.resilience;

/** What to do after a failed attempt: a value, so tests and the access log can read it. */
public sealed interface RetryDecision {
    /** The reason, as written to the access log's {@code decision} field. */
    String reason();

    /** @param delayNanos how long to wait before the next attempt (jittered backoff, Retry-After) */
    record Retry(String reason, long delayNanos) implements RetryDecision {}

    record Stop(String reason) implements RetryDecision {}

    static RetryDecision retry(String reason) {
        return new Retry("retried: " + reason, 0);
    }

    static RetryDecision retryAfter(String reason, long delayNanos) {
        return new Retry("retried: " + reason, delayNanos);
    }

    default long delayNanos() {
        return this instanceof Retry r ? r.delayNanos() : 0;
    }

    static RetryDecision stop(String reason) {
        return new Stop("not retried: " + reason);
    }

    default boolean retries() {
        return this instanceof Retry;
    }
}
