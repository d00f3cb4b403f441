package dev.sluice.canary;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.canary.CanaryJudge.Judgement;
import dev.sluice.canary.CanaryJudge.Window;
import dev.sluice.config.CanaryConfig;
import dev.sluice.observe.ClusterTallies;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CanaryJudgeTest {
    private static final CanaryConfig CONFIG = new CanaryConfig("canary", List.of(5, 25, 50), Duration.ofMinutes(1),
            20, 0.01, 99, 1.5, Duration.ofMillis(10));

    /** {@code requests} all in the latency bucket of {@code millis}. */
    private static Window window(long requests, long gatewayFailures, long backend5xx, long millis) {
        long[] latency = new long[ClusterTallies.LATENCY_BUCKETS];
        long units = millis * 1000 / 64;
        latency[Math.min(64 - Long.numberOfLeadingZeros(units), latency.length - 1)] = requests;
        return new Window(requests, gatewayFailures, backend5xx, latency);
    }

    @Test
    void aCanaryAsGoodAsTheStablePasses() {
        Judgement j = CanaryJudge.judge(CONFIG, window(100, 0, 1, 5), window(1900, 0, 19, 5));
        assertThat(j).isInstanceOf(Judgement.Pass.class);
        assertThat(j.text()).startsWith("error ratio 1.0% against 1.0%");
    }

    @Test
    void tooFewRequestsOnEitherSideFailsAsFlaggerDoes() {
        Judgement tooFew = CanaryJudge.judge(CONFIG, window(19, 0, 0, 5), window(1000, 0, 0, 5));
        assertThat(tooFew).isInstanceOfSatisfying(Judgement.Fail.class, f -> assertThat(f.missed())
                .isEqualTo(CanaryJudge.Check.MIN_REQUESTS));
        assertThat(tooFew.text()).isEqualTo("too few requests to judge: the canary had 19 and the stable 1000, each "
                + "needs min_requests 20");
        assertThat(tooFew.analysis().canaryRequests()).isEqualTo(19);
        assertThat(tooFew.analysis().stableRequests()).isEqualTo(1000);
        assertThat(CanaryJudge.judge(CONFIG, window(20, 0, 0, 5), window(0, 0, 0, 5)))
                .isInstanceOf(Judgement.Fail.class);
    }

    @Test
    void gatewayFailuresAndBackend5xxBothCountAgainstTheCanary() {
        Judgement failed = CanaryJudge.judge(CONFIG, window(100, 1, 1, 5), window(1000, 0, 0, 5));
        assertThat(failed).isInstanceOfSatisfying(Judgement.Fail.class, f -> assertThat(f.missed())
                .isEqualTo(CanaryJudge.Check.MAX_ERROR_RATIO_INCREASE));
        assertThat(failed.text()).isEqualTo("error ratio 2.0% (1 gateway failures and 1 backend 5xx in 100 requests) "
                + "against the stable's 0.0%: more than 1.0% above it");
        assertThat(failed.analysis().canaryErrorRatio()).isEqualTo(0.02);
        assertThat(failed.analysis().stableErrorRatio()).isZero();
        assertThat(CanaryJudge.judge(CONFIG, window(100, 0, 20, 5), window(1000, 0, 150, 5)))
                .as("no worse than a failing stable by more than a point").isInstanceOf(Judgement.Fail.class);
        assertThat(CanaryJudge.judge(CONFIG, window(100, 0, 15, 5), window(1000, 0, 150, 5)))
                .isInstanceOf(Judgement.Pass.class);
    }

    @Test
    void aSlowerCanaryFailsOnlyWhenItIsSlowerByTheFactorAndTheMinimum() {
        Judgement slow = CanaryJudge.judge(CONFIG, window(100, 0, 0, 200), window(1000, 0, 0, 20));
        assertThat(slow.text()).startsWith("p99 latency").contains("against the stable's");
        assertThat(slow).isInstanceOfSatisfying(Judgement.Fail.class, f -> assertThat(f.missed())
                .isEqualTo(CanaryJudge.Check.LATENCY));
        assertThat(slow.analysis().percentile()).isEqualTo(99);
        assertThat(slow.analysis().canaryLatencyNanos()).isGreaterThan(slow.analysis().stableLatencyNanos() * 3 / 2);
        assertThat(CanaryJudge.judge(CONFIG, window(100, 0, 0, 4), window(1000, 0, 0, 1)))
                .as("4 times a millisecond is within the 10 ms minimum").isInstanceOf(Judgement.Pass.class);
    }
}
