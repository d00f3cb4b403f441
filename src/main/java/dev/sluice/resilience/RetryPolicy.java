package dev.sluice.resilience;

import dev.sluice.failure.FailureKind;
import io.netty.handler.codec.http.HttpMethod;
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

    /** 2: one retry rides out a single bad endpoint or connection; more multiplies load in an outage. */
    public static final int DEFAULT_MAX_RETRIES = 2;

    public static final RetryPolicy DEFAULT = new RetryPolicy(DEFAULT_MAX_RETRIES);

    private final int maxRetries;

    public RetryPolicy(int maxRetries) {
        this.maxRetries = maxRetries;
    }

    /** Facts about the request at the moment an attempt failed. */
    public record Attempted(HttpMethod method, boolean idempotencyKey, boolean bodyReplayable,
                            boolean responseStarted, int retriesSoFar, boolean endpointsLeft,
                            boolean connectionReused) {}

    /** Whether repeating the request means the same as sending it once (RFC 9110 §9.2.2). */
    public static boolean isIdempotent(HttpMethod method, boolean idempotencyKey) {
        return idempotencyKey || IDEMPOTENT.contains(method);
    }

    public RetryDecision decide(FailureKind failure, Attempted request, RetryBudget budget, long nowNanos) {
        if (request.responseStarted()) {
            return RetryDecision.stop("response bytes already reached the client");
        }
        if (!request.bodyReplayable()) {
            return RetryDecision.stop("the request body was streamed past the replay buffer");
        }
        if (failure == FailureKind.CLOSED_BEFORE_SEND && request.connectionReused()) {
            // Not a failure of the endpoint: a pooled connection died before use. Always reissued.
            // (A brand-new connection closed before use is the endpoint's failure: handled below.)
            return RetryDecision.retry("nothing was sent, fresh connection");
        }
        if (!isRetryableKind(failure)) {
            return RetryDecision.stop(failure.label() + " is not retried");
        }
        if (!failure.unprocessed() && !IDEMPOTENT.contains(request.method()) && !request.idempotencyKey()) {
            return RetryDecision.stop("the request may have been processed and " + request.method()
                    + " is not idempotent");
        }
        if (request.retriesSoFar() >= maxRetries && !(failure.unprocessed() && request.endpointsLeft())) {
            return RetryDecision.stop("retry limit " + maxRetries + " reached");
        }
        if (failure.unprocessed() && !request.endpointsLeft()) {
            return RetryDecision.stop("every endpoint tried");
        }
        // Last guard: only a retry that passed every other one spends budget.
        if (!budget.tryWithdraw(nowNanos)) {
            return RetryDecision.stop("cluster retry budget exhausted");
        }
        return failure.unprocessed()
                ? RetryDecision.retry("unprocessed, next endpoint")
                : RetryDecision.retry(failure.label() + " on an idempotent request");
    }

    private static boolean isRetryableKind(FailureKind failure) {
        return switch (failure) {
            case CONNECT_REFUSED, CONNECT_TIMEOUT, CONNECT_BACKLOG_FULL, CLOSED_BEFORE_SEND, RESET_BEFORE_RESPONSE -> true;
            // A timeout already spent the client's patience; a bad response would likely repeat.
            case RESPONSE_TIMEOUT, RESPONSE_TRUNCATED, BAD_RESPONSE -> false;
            case NO_ROUTE, NO_HEALTHY_ENDPOINT, OVERLOADED, RATE_LIMITED, APP_STARTING_TIMEOUT, BAD_REQUEST,
                 REQUEST_LINE_TOO_LONG, HEADERS_TOO_LARGE, REQUEST_HEADER_TIMEOUT -> false;
        };
    }
}
