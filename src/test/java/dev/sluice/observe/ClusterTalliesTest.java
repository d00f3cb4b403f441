package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.failure.FailureKind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What one finished request adds to its cluster's totals: every try, every failed try, retries, latency. */
class ClusterTalliesTest {
    private static RequestLog log(String cluster) {
        RequestLog log = new RequestLog(0, 1_000);
        log.received("id", "127.0.0.1", "GET", "/", "HTTP/1.1", "h");
        log.routed("api", cluster, 1_000);
        return log;
    }

    @Test
    void aRequestRetriedPastADeadEndpointCountsItsFailedTryThoughTheClientSawA200() {
        ClusterTallies tallies = new ClusterTallies();
        RequestLog log = log("app");
        log.attemptStarted("10.0.0.2:80", false, -1, -1);
        log.attemptEnded(FailureKind.CONNECT_REFUSED, "retried: unprocessed, next endpoint", "retried_next_endpoint");
        log.attemptStarted("10.0.0.1:80", false, -1, -1);
        log.responded(200);
        log.completed(1_000 + 3_000_000);
        tallies.record(log);

        ClusterTallies.Totals app = tallies.totals().get("app");
        assertThat(List.of(app.requests(), app.tries(), app.failures(), app.failedRequests(), app.retries()))
                .containsExactly(1L, 2L, 1L, 0L, 1L);
        assertThat(app.byKind()[FailureKind.CONNECT_REFUSED.ordinal()]).isEqualTo(1);
        assertThat(app.endpoints()).containsOnlyKeys("10.0.0.1:80", "10.0.0.2:80");
        assertThat(app.endpoints().get("10.0.0.2:80").failures()).isEqualTo(1);
        assertThat(app.endpoints().get("10.0.0.1:80").tries()).isEqualTo(1);
        assertThat(app.routes().get("api").failures()).as("requests with a failed try").isEqualTo(1);
        assertThat(app.latency()[ClusterTallies.latencyBucket(3_000_000)]).isEqualTo(1);
    }

    @Test
    void aFailureWithoutATryAndOneRefusedByTheBudgetAreCountedOnceAndClientCausedOnesNotAtAll() {
        ClusterTallies tallies = new ClusterTallies();
        RequestLog shed = log("app");
        shed.failed(FailureKind.OVERLOADED);
        shed.completed(2_000);
        tallies.record(shed);
        RequestLog refused = log("app");
        refused.attemptStarted("10.0.0.2:80", false, -1, -1);
        refused.attemptEnded(FailureKind.CONNECT_REFUSED, "not retried: cluster retry budget exhausted",
                "stopped_budget_exhausted");
        refused.failed(FailureKind.CONNECT_REFUSED);
        refused.completed(2_000);
        tallies.record(refused);
        RequestLog limited = log("app");
        limited.failed(FailureKind.RATE_LIMITED);
        limited.completed(2_000);
        tallies.record(limited);
        tallies.record(log(null));

        ClusterTallies.Totals app = tallies.totals().get("app");
        assertThat(List.of(app.requests(), app.tries(), app.failures(), app.failedRequests(), app.retries(),
                app.retriesRefusedByBudget())).containsExactly(3L, 3L, 2L, 2L, 0L, 1L);
        assertThat(app.byKind()[FailureKind.OVERLOADED.ordinal()]).isEqualTo(1);
        assertThat(app.byKind()[FailureKind.CONNECT_REFUSED.ordinal()]).isEqualTo(1);
        assertThat(app.byKind()[FailureKind.RATE_LIMITED.ordinal()]).isZero();
        assertThat(tallies.totals()).containsOnlyKeys("app");
    }

    @Test
    void totalsFromSeveralThreadsAddUpAndSubtract() throws Exception {
        ClusterTallies tallies = new ClusterTallies();
        Thread other = Thread.ofPlatform().start(() -> tallies.record(log("app")));
        other.join();
        ClusterTallies.Totals before = tallies.totals().get("app");
        tallies.record(log("app"));
        tallies.record(log("app"));

        assertThat(tallies.totals().get("app").requests()).isEqualTo(3);
        assertThat(tallies.totals().get("app").minus(before).requests()).isEqualTo(2);
        assertThat(Map.copyOf(tallies.totals().get("app").minus(before).routes()).get("api").tries()).isEqualTo(2);
    }
}
