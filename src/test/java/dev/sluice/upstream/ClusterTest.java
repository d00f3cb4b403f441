package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ClusterConfig;
import dev.sluice.config.ClusterConfig.LoadBalancerKind;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.HealthCheckConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ClusterTest {
    private static final long SECOND = 1_000_000_000L;

    private static Cluster cluster(LoadBalancerKind lb, Duration slowStart, boolean healthChecked, int... weights) {
        List<Endpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            endpoints.add(new Endpoint("c", "e" + i, InetSocketAddress.createUnresolved("e" + i, 80), Map.of(),
                    weights[i], healthChecked, 0));
        }
        ClusterConfig config = ClusterConfig.of("c", List.<EndpointConfig>of());
        config = new ClusterConfig("c", List.of(), config.connectTimeout(), config.idleTimeout(), true,
                config.maxIdlePerEndpoint(), lb, slowStart,
                healthChecked ? Optional.of(HealthCheckConfig.of("/h")) : Optional.empty());
        return new Cluster(config, endpoints, 0);
    }

    private static Map<String, Integer> spread(Cluster c, long now, int picks) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < picks; i++) {
            counts.merge(c.pick(0, now).address(), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void roundRobinVisitsEveryEndpointInTurn() {
        Cluster c = cluster(LoadBalancerKind.ROUND_ROBIN, Duration.ZERO, false, 1, 1, 1);
        assertThat(spread(c, 0, 300)).containsEntry("e0", 100).containsEntry("e1", 100).containsEntry("e2", 100);
    }

    @Test
    void leastRequestSteersAwayFromABusyEndpoint() {
        Cluster c = cluster(LoadBalancerKind.LEAST_REQUEST, Duration.ZERO, false, 1, 1);
        Endpoint busy = c.endpoints().get(0);
        for (int i = 0; i < 50; i++) {
            busy.attemptStarted();
        }
        // Both random picks land on the busy one a quarter of the time: ~250 of 1000, never near half.
        assertThat(spread(c, 0, 1000).getOrDefault("e0", 0)).isLessThan(340);
    }

    @Test
    void weightedSharesFollowTheWeights() {
        Cluster c = cluster(LoadBalancerKind.WEIGHTED, Duration.ZERO, false, 1, 3);
        Map<String, Integer> counts = spread(c, 0, 20_000);
        assertThat(counts.get("e1") / (double) counts.get("e0")).isBetween(2.5, 3.5);
    }

    @Test
    void slowStartRampsANewEndpointsShareUp() {
        Cluster c = cluster(LoadBalancerKind.WEIGHTED, Duration.ofSeconds(10), false, 1, 1);
        c.endpoints().get(1).health(Endpoint.Health.UNHEALTHY, 0);
        c.endpoints().get(1).health(Endpoint.Health.HEALTHY, 10 * SECOND); // recovered at t=10s
        Map<String, Integer> early = spread(c, 11 * SECOND, 10_000);
        Map<String, Integer> late = spread(c, 30 * SECOND, 10_000);
        assertThat(early.get("e1")).isLessThan(early.get("e0") / 4);
        assertThat(late.get("e1") / (double) late.get("e0")).isBetween(0.85, 1.15);
    }

    @Test
    void ejectedEndpointsAreSkippedUntilEverythingIsEjected() {
        Cluster c = cluster(LoadBalancerKind.ROUND_ROBIN, Duration.ZERO, false, 1, 1);
        Endpoint e0 = c.endpoints().get(0);
        for (int i = 0; i < Endpoint.CONSECUTIVE_FAILURES_TO_EJECT; i++) {
            e0.recordFailure(0, c.mayEject(0));
        }
        assertThat(e0.isEjected(0)).isTrue();
        assertThat(spread(c, 0, 10)).containsOnlyKeys("e1");
        // The cap (half the cluster) keeps e1 in rotation however often it fails.
        Endpoint e1 = c.endpoints().get(1);
        for (int i = 0; i < 10; i++) {
            e1.recordFailure(0, c.mayEject(0));
        }
        assertThat(e1.isEjected(0)).isFalse();
        // After the ejection time e0 is back.
        assertThat(e0.isEjected(2 * SECOND)).isFalse();
    }

    @Test
    void panicModeUsesUnhealthyEndpointsButNeverAnImpostor() {
        Cluster c = cluster(LoadBalancerKind.ROUND_ROBIN, Duration.ZERO, true, 1, 1, 1);
        assertThat(c.pick(0, 0)).as("nothing checked yet").isNull();
        c.endpoints().get(0).health(Endpoint.Health.UNHEALTHY, 0);
        c.endpoints().get(1).health(Endpoint.Health.WRONG_IDENTITY, 0);
        c.endpoints().get(2).health(Endpoint.Health.UNHEALTHY, 0);
        assertThat(c.panicking(0)).isTrue();
        assertThat(spread(c, 0, 20)).containsOnlyKeys("e0", "e2");
        c.endpoints().get(2).health(Endpoint.Health.HEALTHY, 0);
        assertThat(c.panicking(0)).isFalse();
        assertThat(spread(c, 0, 10)).containsOnlyKeys("e2");
    }

    @Test
    void healthJudgementSeparatesFailureFromWrongIdentity() {
        HealthCheckConfig hc = new HealthCheckConfig("/h", Optional.empty(), Duration.ofSeconds(1), Duration.ofSeconds(1),
                2, 3, 200, 299, Map.of("x-service", "shop"), Optional.of("ok"));
        assertThat(HealthChecker.judge(hc, 200, h -> "shop", "all ok")).isEqualTo(HealthChecker.Outcome.PASS);
        assertThat(HealthChecker.judge(hc, 503, h -> "shop", "ok")).isEqualTo(HealthChecker.Outcome.FAIL);
        assertThat(HealthChecker.judge(hc, 200, h -> "billing", "ok")).isEqualTo(HealthChecker.Outcome.WRONG_IDENTITY);
        assertThat(HealthChecker.judge(hc, 200, h -> "shop", "nope")).isEqualTo(HealthChecker.Outcome.WRONG_IDENTITY);
    }
}
