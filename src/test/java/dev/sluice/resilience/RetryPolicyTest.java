package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.failure.FailureKind;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
    private static final long NOW = 1_000_000_000L;
    private final RetryPolicy policy = RetryPolicy.DEFAULT;

    private static RetryPolicy.Attempted attempted(HttpMethod method, boolean key, boolean replayable,
                                                   boolean responseStarted, int retries, boolean endpointsLeft,
                                                   boolean reused) {
        return new RetryPolicy.Attempted(method, key, replayable, responseStarted, retries, endpointsLeft, reused,
                Long.MAX_VALUE);
    }

    private static RetryBudget fullBudget() {
        return new RetryBudget(0.2, 5, 100, NOW);
    }

    @Test
    void unprocessedFailuresAreRetriedForAnyMethodWhileEndpointsRemain() {
        RetryDecision d = policy.decide(FailureKind.CONNECT_REFUSED,
                attempted(HttpMethod.POST, false, true, false, 0, true, false), fullBudget(), NOW);
        assertThat(d.retries()).isTrue();
        assertThat(d.reason()).isEqualTo("retried: unprocessed, next endpoint");
        RetryDecision last = policy.decide(FailureKind.CONNECT_REFUSED,
                attempted(HttpMethod.POST, false, true, false, 0, false, false), fullBudget(), NOW);
        assertThat(last.reason()).isEqualTo("not retried: every endpoint tried");
    }

    @Test
    void resetAfterSendingIsRetriedOnlyForIdempotentOrKeyedRequests() {
        assertThat(policy.decide(FailureKind.RESET_BEFORE_RESPONSE,
                attempted(HttpMethod.GET, false, true, false, 0, true, true), fullBudget(), NOW).retries()).isTrue();
        assertThat(policy.decide(FailureKind.RESET_BEFORE_RESPONSE,
                attempted(HttpMethod.PUT, false, true, false, 0, true, true), fullBudget(), NOW).retries()).isTrue();
        assertThat(policy.decide(FailureKind.RESET_BEFORE_RESPONSE,
                attempted(HttpMethod.POST, true, true, false, 0, true, true), fullBudget(), NOW).retries()).isTrue();
        RetryDecision post = policy.decide(FailureKind.RESET_BEFORE_RESPONSE,
                attempted(HttpMethod.POST, false, true, false, 0, true, true), fullBudget(), NOW);
        assertThat(post.retries()).isFalse();
        assertThat(post.reason()).contains("POST is not idempotent");
    }

    @Test
    void nothingIsRetriedOnceResponseBytesReachedTheClient() {
        RetryDecision d = policy.decide(FailureKind.CONNECT_REFUSED,
                attempted(HttpMethod.GET, false, true, true, 0, true, false), fullBudget(), NOW);
        assertThat(d.reason()).isEqualTo("not retried: response bytes already reached the client");
    }

    @Test
    void aBodyStreamedPastTheReplayBufferCannotBeRetried() {
        RetryDecision d = policy.decide(FailureKind.RESET_BEFORE_RESPONSE,
                attempted(HttpMethod.PUT, false, false, false, 0, true, true), fullBudget(), NOW);
        assertThat(d.retries()).isFalse();
        assertThat(d.reason()).contains("replay buffer");
    }

    @Test
    void timeoutsAndBadResponsesAreNeverRetried() {
        for (FailureKind kind : new FailureKind[] {FailureKind.RESPONSE_TIMEOUT, FailureKind.BAD_RESPONSE,
                FailureKind.RESPONSE_TRUNCATED}) {
            assertThat(policy.decide(kind, attempted(HttpMethod.GET, false, true, false, 0, true, true),
                    fullBudget(), NOW).retries()).as(kind.label()).isFalse();
        }
    }

    @Test
    void aPooledConnectionFoundDeadIsReissuedEvenPastTheLimitAndBudget() {
        RetryBudget empty = new RetryBudget(0.2, 0, 0, NOW);
        RetryDecision d = policy.decide(FailureKind.CLOSED_BEFORE_SEND,
                attempted(HttpMethod.POST, false, true, false, 5, false, true), empty, NOW);
        assertThat(d.retries()).isTrue();
    }

    @Test
    void aBrandNewConnectionClosedBeforeUseCountsAsTheEndpointsFailure() {
        RetryDecision d = policy.decide(FailureKind.CLOSED_BEFORE_SEND,
                attempted(HttpMethod.POST, false, true, false, 0, false, false), fullBudget(), NOW);
        assertThat(d.reason()).isEqualTo("not retried: every endpoint tried");
    }

    @Test
    void theRetryLimitStopsRepeatedRetriesOfProcessedFailures() {
        RetryDecision d = policy.decide(FailureKind.RESET_BEFORE_RESPONSE,
                attempted(HttpMethod.GET, false, true, false, RetryPolicy.DEFAULT_MAX_RETRIES, true, true),
                fullBudget(), NOW);
        assertThat(d.reason()).isEqualTo("not retried: retry limit 2 reached");
    }

    @Test
    void anEmptyBudgetStopsRetriesAndSaysSo() {
        RetryBudget empty = new RetryBudget(0.2, 0, 0, NOW);
        RetryDecision d = policy.decide(FailureKind.CONNECT_REFUSED,
                attempted(HttpMethod.GET, false, true, false, 0, true, false), empty, NOW);
        assertThat(d.reason()).isEqualTo("not retried: cluster retry budget exhausted");
    }

    @Test
    void processedFailuresBackOffWithJitterAndNeverPastTheDeadline() {
        RetryPolicy jittered = new RetryPolicy(new dev.sluice.config.RetryConfig(2, java.util.List.of(),
                java.time.Duration.ofMillis(100)), new java.util.Random(7));
        RetryDecision first = jittered.decide(FailureKind.RESET_BEFORE_RESPONSE,
                attempted(HttpMethod.GET, false, true, false, 0, true, true), fullBudget(), NOW);
        assertThat(first.delayNanos()).isBetween(50_000_000L, 100_000_000L);
        RetryDecision second = jittered.decide(FailureKind.RESET_BEFORE_RESPONSE,
                attempted(HttpMethod.GET, false, true, false, 1, true, true), fullBudget(), NOW);
        assertThat(second.delayNanos()).isBetween(100_000_000L, 200_000_000L);
        RetryDecision late = jittered.decide(FailureKind.RESET_BEFORE_RESPONSE, new RetryPolicy.Attempted(
                HttpMethod.GET, false, true, false, 0, true, true, 10_000_000L), fullBudget(), NOW);
        assertThat(late.reason()).isEqualTo("not retried: the route's timeout would pass first");
    }

    @Test
    void backendStatusesAreRetriedOnlyWhereTheRouteOptsInHonouringRetryAfter() {
        RetryPolicy opted = new RetryPolicy(new dev.sluice.config.RetryConfig(2, java.util.List.of(503),
                java.time.Duration.ofMillis(25)), new java.util.Random(7));
        RetryPolicy.Attempted get = attempted(HttpMethod.GET, false, true, false, 0, true, true);
        assertThat(policy.decideOnStatus(503, -1, get, fullBudget(), NOW).retries()).isFalse();
        RetryDecision d = opted.decideOnStatus(503, 1_000_000_000L, get, fullBudget(), NOW);
        assertThat(d.retries()).isTrue();
        assertThat(d.delayNanos()).isEqualTo(1_000_000_000L);
        assertThat(opted.decideOnStatus(503, -1, attempted(HttpMethod.POST, false, true, false, 0, true, true),
                fullBudget(), NOW).retries()).isFalse();
        RetryDecision tooLate = opted.decideOnStatus(503, 5_000_000_000L, new RetryPolicy.Attempted(HttpMethod.GET,
                false, true, false, 0, true, true, 1_000_000_000L), fullBudget(), NOW);
        assertThat(tooLate.reason()).contains("would pass the route's timeout");
        assertThat(opted.decideOnStatus(502, -1, get, fullBudget(), NOW).retries()).isFalse();
    }
}
