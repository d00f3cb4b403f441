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
import java.util.Random;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class ClusterTest {
    private static final long SECOND = 1_000_000_000L;

    /**
     * The same draws on every run, so a test of how picks spread is exact rather than likely.
     * java.util.Random because its algorithm is specified: the counts hold on every JDK.
     */
    private static RandomGenerator seeded() {
        return new Random(42);
    }

    /** Hands out exactly the given draws, in order, and records the bound each was asked below. */
    private static final class ScriptedDraws implements RandomGenerator {
        private final double[] values;
        private int next;
        final List<Double> bounds = new ArrayList<>();

        ScriptedDraws(double... values) {
            this.values = values;
        }

        @Override
        public long nextLong() {
            throw new UnsupportedOperationException("the load balancer only draws bounded values");
        }

        @Override
        public int nextInt(int bound) {
            return (int) nextDouble(bound);
        }

        @Override
        public double nextDouble(double bound) {
            bounds.add(bound);
            assertThat(next).as("draws left").isLessThan(values.length);
            double value = values[next++];
            assertThat(value).as("draw %d", next).isLessThan(bound);
            return value;
        }
    }

    private static Cluster cluster(LoadBalancerKind lb, Duration slowStart, boolean healthChecked, int... weights) {
        return cluster(seeded(), lb, slowStart, healthChecked, weights);
    }

    private static Cluster cluster(RandomGenerator random, LoadBalancerKind lb, Duration slowStart,
                                   boolean healthChecked, int... weights) {
        List<Endpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            endpoints.add(new Endpoint("c", "e" + i, InetSocketAddress.createUnresolved("e" + i, 80), Map.of(),
                    weights[i], healthChecked, 0));
        }
        ClusterConfig config = ClusterConfig.of("c", List.<EndpointConfig>of());
        config = new ClusterConfig("c", List.of(), config.connectTimeout(), config.idleTimeout(), true,
                config.maxIdlePerEndpoint(), lb, slowStart,
                healthChecked ? Optional.of(HealthCheckConfig.of("/h")) : Optional.empty());
        return new Cluster(config, endpoints, 0, random);
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
    void leastRequestTakesTheLessLoadedOfItsTwoRandomChoices() {
        // Draws: e0 then e1, e1 then e0, e0 twice.
        Cluster c = cluster(new ScriptedDraws(0, 1, 1, 0, 0, 0), LoadBalancerKind.LEAST_REQUEST, Duration.ZERO, false, 1, 1);
        c.endpoints().get(0).attemptStarted();
        assertThat(c.pick(0, 0).address()).isEqualTo("e1");
        assertThat(c.pick(0, 0).address()).isEqualTo("e1");
        assertThat(c.pick(0, 0).address()).as("both choices on the busy one leave it no rival").isEqualTo("e0");
    }

    @Test
    void leastRequestWeighsLoadAgainstWeight() {
        // Counting the request being placed: e0 (1 in flight, weight 1) would carry 2 per unit of
        // weight, e1 (2 in flight, weight 4) 0.75.
        Cluster c = cluster(new ScriptedDraws(0, 1), LoadBalancerKind.LEAST_REQUEST, Duration.ZERO, false, 1, 4);
        c.endpoints().get(0).attemptStarted();
        c.endpoints().get(1).attemptStarted();
        c.endpoints().get(1).attemptStarted();
        assertThat(c.pick(0, 0).address()).isEqualTo("e1");
    }

    @Test
    void leastRequestSteersAwayFromABusyEndpoint() {
        Cluster c = cluster(LoadBalancerKind.LEAST_REQUEST, Duration.ZERO, false, 1, 1);
        Endpoint busy = c.endpoints().get(0);
        for (int i = 0; i < 50; i++) {
            busy.attemptStarted();
        }
        // Only when both choices land on the busy one, a quarter of the time: ~250 of 1,000.
        assertThat(spread(c, 0, 1000)).isEqualTo(Map.of("e0", 227, "e1", 773));
    }

    @Test
    void weightedRandomGivesEachEndpointItsSliceOfTheTotalWeight() {
        // Weights 1 and 3: draws in [0, 1) pick e0, draws in [1, 4) pick e1.
        Cluster c = cluster(new ScriptedDraws(0, 0.999, 1, 3.999), LoadBalancerKind.WEIGHTED, Duration.ZERO, false, 1, 3);
        assertThat(c.pick(0, 0).address()).isEqualTo("e0");
        assertThat(c.pick(0, 0).address()).isEqualTo("e0");
        assertThat(c.pick(0, 0).address()).isEqualTo("e1");
        assertThat(c.pick(0, 0).address()).isEqualTo("e1");
    }

    @Test
    void weightedRandomDrawsOverTheWeightOfUntriedEndpointsOnly() {
        // Weights 1, 3, 2 with e1 tried: the draw is below 1 + 2, and 1.5 lands on e2.
        ScriptedDraws draws = new ScriptedDraws(1.5);
        Cluster c = cluster(draws, LoadBalancerKind.WEIGHTED, Duration.ZERO, false, 1, 3, 2);
        assertThat(c.pick(c.bitOf(c.endpoints().get(1)), 0).address()).isEqualTo("e2");
        assertThat(draws.bounds).containsExactly(3.0);
    }

    @Test
    void weightedSharesFollowTheWeights() {
        Cluster c = cluster(LoadBalancerKind.WEIGHTED, Duration.ZERO, false, 1, 3);
        // Weights 1 : 3 over 20,000 picks: ~5,000 : 15,000.
        assertThat(spread(c, 0, 20_000)).isEqualTo(Map.of("e0", 4969, "e1", 15031));
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
