package dev.sluice.resilience;

/** What to do after a failed attempt: a value, so tests and the access log can read it. */
public sealed interface RetryDecision {
    /** The reason, as written to the access log's {@code decision} field. */
    String reason();

    record Retry(String reason) implements RetryDecision {}

    record Stop(String reason) implements RetryDecision {}

    static RetryDecision retry(String reason) {
        return new Retry("retried: " + reason);
    }

    static RetryDecision stop(String reason) {
        return new Stop("not retried: " + reason);
    }

    default boolean retries() {
        return this instanceof Retry;
    }
}
