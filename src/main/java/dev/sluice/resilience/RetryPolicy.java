package dev.sluice.resilience;

import dev.sluice.failure.FailureKind;
import dev.sluice.config.RetryConfig;
import io.netty.handler.codec.http.HttpMethod;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import java.util.Set;

/**
 * Which failed attempts may be tried again. The whole policy is the list of guards in
 * {@link #decide}; each names why it stops a retry, and that reason reaches the access log.
 *
 * <p>Retrying is safe only when the request provably did not reach an application
 * ("unprocessed"), or when doing it twice means the same as doing it once (RFC 9110 §9.2.2
 * idempotent methods, or a client's {@code Idempotency-Key}), and only while the body can be
 * sent again and no response byte has reached the client.
 */
public final class RetryPolicy {
    /** Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2). */
    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

    public static final int DEFAULT_MAX_RETRIES = RetryConfig.DEFAULT_MAX_RETRIES;

    public static final RetryPolicy DEFAULT = new RetryPolicy(RetryConfig.DEFAULT, null);

    private final int maxRetries;
    /** Indexed by status code (0-599): asked once per response, so no boxing and no hashing. */
    private final boolean[] retryOnStatus = new boolean[600];
    private final long backoffNanos;
    private final RandomGenerator random;

    /** @param random the jitter source; null means the calling thread's {@code ThreadLocalRandom} */
    public RetryPolicy(RetryConfig config, RandomGenerator random) {
        this.maxRetries = config.maxRetries();
        for (int status : config.retryOnStatus()) {
            if (status >= 0 && status < retryOnStatus.length) {
                retryOnStatus[status] = true;
            }
        }
        this.backoffNanos = config.backoff().toNanos();
        this.random = random;
    }

    /**
     * Facts about the request at the moment an attempt failed.
     *
     * @param remainingNanos time left before the route's timeout; Long.MAX_VALUE while not running
     */
    public record Attempted(HttpMethod method, boolean idempotencyKey, boolean bodyReplayable,
                            boolean responseStarted, int retriesSoFar, boolean endpointsLeft,
                            boolean connectionReused, long remainingNanos) {}

    /** A {@code Retry-After} in delta-seconds, as nanoseconds; -1 when absent or a date. */
    public static long retryAfterNanos(io.netty.handler.codec.http.HttpHeaders headers) {
        String value = headers.get(io.netty.handler.codec.http.HttpHeaderNames.RETRY_AFTER);
        if (value == null) {
            return -1;
        }
        try {
            return Math.max(0, Long.parseLong(value.trim())) * 1_000_000_000L;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Whether the route retries backend responses with this status at all. */
    public boolean retriesStatus(int status) {
        return status >= 0 && status < retryOnStatus.length && retryOnStatus[status];
    }

    /**
     * Equal-jitter exponential backoff: between half and all of base × 2^retry, so that clients
     * failing together do not come back together.
     */
    long backoffNanos(int retriesSoFar) {
        long ceiling = backoffNanos << Math.min(retriesSoFar, 10);
        RandomGenerator r = random != null ? random : ThreadLocalRandom.current();
        return ceiling / 2 + r.nextLong(ceiling / 2 + 1);
    }

    /**
     * A backend answered with a status the route opted to retry (e.g. 503). Only idempotent
     * requests with a replayable body, within the limit, the deadline and the budget; a
     * {@code Retry-After} (delta-seconds) is waited out when it fits in the remaining time.
     *
     * @param retryAfterNanos the response's Retry-After, or -1
     */
    public RetryDecision decideOnStatus(int status, long retryAfterNanos, Attempted request, RetryBudget budget,
                                        long nowNanos) {
        if (!retriesStatus(status)) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_NOT_RETRYABLE, "status " + status + " is not retried on this route");
        }
        if (!request.bodyReplayable()) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_BODY_STREAMED, "the request body was streamed past the replay buffer");
        }
        if (!isIdempotent(request.method(), request.idempotencyKey())) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_NOT_IDEMPOTENT, "status " + status + " and " + request.method() + " is not idempotent");
        }
        if (request.retriesSoFar() >= maxRetries) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_RETRY_LIMIT, "retry limit " + maxRetries + " reached");
        }
        long delay = Math.max(backoffNanos(request.retriesSoFar()), retryAfterNanos);
        if (delay >= request.remainingNanos()) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_TIMEOUT, "status " + status + ": waiting " + delay / 1_000_000
                    + " ms would pass the route's timeout");
        }
        if (!budget.tryWithdraw(nowNanos)) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_BUDGET_EXHAUSTED, "cluster retry budget exhausted");
        }
        return RetryDecision.retryAfter(RetryDecision.Why.RETRIED_STATUS, "status " + status + " after " + delay / 1_000_000 + " ms", delay);
    }

    /** Whether repeating the request means the same as sending it once (RFC 9110 §9.2.2). */
    public static boolean isIdempotent(HttpMethod method, boolean idempotencyKey) {
        return idempotencyKey || IDEMPOTENT.contains(method);
    }

    public RetryDecision decide(FailureKind failure, Attempted request, RetryBudget budget, long nowNanos) {
        if (request.responseStarted()) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_RESPONSE_STARTED, "response bytes already reached the client");
        }
        if (!request.bodyReplayable()) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_BODY_STREAMED, "the request body was streamed past the replay buffer");
        }
        if ((failure == FailureKind.CLOSED_BEFORE_SEND || failure == FailureKind.STREAM_REFUSED)
                && request.connectionReused()) {
            // Not a failure of the endpoint: a pooled connection died before use, or a shared HTTP/2
            // one is going away. Always reissued.
            // (A brand-new connection closed before use is the endpoint's failure: handled below.)
            return RetryDecision.retry(RetryDecision.Why.RETRIED_FRESH_CONNECTION, "nothing was sent, fresh connection");
        }
        if (!isRetryableKind(failure)) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_NOT_RETRYABLE, failure.label() + " is not retried");
        }
        if (!failure.unprocessed() && !IDEMPOTENT.contains(request.method()) && !request.idempotencyKey()) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_NOT_IDEMPOTENT, "the request may have been processed and " + request.method()
                    + " is not idempotent");
        }
        if (request.retriesSoFar() >= maxRetries && !(failure.unprocessed() && request.endpointsLeft())) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_RETRY_LIMIT, "retry limit " + maxRetries + " reached");
        }
        if (failure.unprocessed() && !request.endpointsLeft()) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_EVERY_ENDPOINT_TRIED, "every endpoint tried");
        }
        // Last guard: only a retry that passed every other one spends budget.
        // Failing over to another endpoint is immediate; trying the same work again backs off.
        long delay = failure.unprocessed() ? 0 : backoffNanos(request.retriesSoFar());
        if (delay >= request.remainingNanos()) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_TIMEOUT, "the route's timeout would pass first");
        }
        if (!budget.tryWithdraw(nowNanos)) {
            return RetryDecision.stop(RetryDecision.Why.STOPPED_BUDGET_EXHAUSTED, "cluster retry budget exhausted");
        }
        return failure.unprocessed()
                ? RetryDecision.retry(RetryDecision.Why.RETRIED_NEXT_ENDPOINT, "unprocessed, next endpoint")
                : RetryDecision.retryAfter(RetryDecision.Why.RETRIED_AFTER_BACKOFF, failure.label() + " on an idempotent request", delay);
    }

    private static boolean isRetryableKind(FailureKind failure) {
        return switch (failure) {
            case CONNECT_REFUSED, CONNECT_TIMEOUT, UPSTREAM_TLS_FAILED, CONNECT_BACKLOG_FULL, CLOSED_BEFORE_SEND,
                 STREAM_REFUSED, RESET_BEFORE_RESPONSE -> true;
            // A timeout already spent the client's patience; a bad response would likely repeat.
            case RESPONSE_TIMEOUT, RESPONSE_TRUNCATED, BAD_RESPONSE -> false;
            case NO_ROUTE, NO_HEALTHY_ENDPOINT, OVERLOADED, RATE_LIMITED, APP_STARTING_TIMEOUT, APP_CRASH_LOOP, BAD_REQUEST,
                 REQUEST_LINE_TOO_LONG, HEADERS_TOO_LARGE, REQUEST_HEADER_TIMEOUT, REQUEST_BODY_TIMEOUT,
                 METHOD_NOT_ALLOWED, REQUEST_TOO_LARGE, ACCESS_DENIED, UNAUTHENTICATED, AUTH_DENIED, AUTH_UNAVAILABLE,
                 AUTH_TIMEOUT -> false;
        };
    }
}
