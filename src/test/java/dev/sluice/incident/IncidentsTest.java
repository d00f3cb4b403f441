package dev.sluice.incident;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigVersion;
import dev.sluice.config.IncidentsConfig;
import dev.sluice.failure.FailureKind;
import dev.sluice.observe.ClusterTallies;
import dev.sluice.observe.ClusterTallies.Totals;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The incident step with hand-made windows and times: when an incident opens, what it records, when it closes. */
class IncidentsTest {
    private static final Instant T0 = Instant.parse("2026-12-04T10:00:00Z");
    private static final IncidentsConfig CONFIG = new IncidentsConfig(true, Duration.ofSeconds(10), 0.05, 3,
            Duration.ofSeconds(1), 20, Duration.ofSeconds(5));
    private static final ConfigVersion V1 = new ConfigVersion(1, T0.minusSeconds(3600), "file sluice.yaml (start)",
            "ab".repeat(32), ConfigVersion.Outcome.GOOD, Optional.empty(), 0, 0, "");
    private static final String DEAD = "10.0.0.2:80";

    /** {@code tries} tries at 1 ms each, {@code failures} of them connect_refused at {@code endpoint}. */
    private static Totals traffic(long tries, long failures, String endpoint) {
        long[] kinds = new long[FailureKind.values().length];
        kinds[FailureKind.CONNECT_REFUSED.ordinal()] = failures;
        long[] latency = new long[ClusterTallies.LATENCY_BUCKETS];
        latency[4] = tries;
        Map<String, ClusterTallies.Named> endpoints = failures == 0 ? Map.of()
                : Map.of(endpoint, new ClusterTallies.Named(failures, failures, kinds.clone()));
        return new Totals(tries, tries, failures, 0, failures, 0, kinds, latency, endpoints,
                failures == 0 ? Map.of() : Map.of("api", new ClusterTallies.Named(failures, failures, kinds.clone())));
    }

    private static Incidents.ClusterSeen seen(Totals window, Totals recent, boolean deadOut) {
        return new Incidents.ClusterSeen("api", window, Duration.ofSeconds(10), recent, Duration.ofSeconds(2), recent,
                List.of(new Incidents.EndpointSeen("10.0.0.1:80", "healthy", false),
                        new Incidents.EndpointSeen(DEAD, deadOut ? "ejected" : "healthy", deadOut)), false);
    }

    private static List<Incidents.Notice> step(Incidents incidents, int second, Incidents.ClusterSeen cluster) {
        return incidents.step(T0.plusSeconds(second), CONFIG, List.of(cluster), V1, List.of(V1));
    }

    @Test
    void aDeadEndpointHiddenByRetriesOpensAnIncidentNamingItAndItsFailureKind() {
        Incidents incidents = new Incidents();
        assertThat(step(incidents, 0, seen(traffic(10_000, 0, DEAD), traffic(2_000, 0, DEAD), false))).isEmpty();

        // Five refused connects among 10 000 good tries are nothing for the cluster, everything for the endpoint.
        List<Incidents.Notice> notices = step(incidents, 1, seen(traffic(10_000, 5, DEAD), traffic(2_000, 5, DEAD), true));

        assertThat(notices).singleElement().satisfies(n -> {
            assertThat(n.event()).isEqualTo("open");
            assertThat(n.line()).startsWith("incident 1 opened on cluster api: endpoint " + DEAD + " failed 5 of 5 tries "
                    + "in the last 2s (connect_refused)");
            assertThat(n.incident()).containsEntry("cluster", "api").containsEntry("state", "open");
            assertThat(n.incident().get("failure_kinds")).isEqualTo(List.of(Map.of("kind", "connect_refused", "count", 5L)));
        });
        assertThat(incidents.openOn("api")).contains(1);
    }

    @Test
    void aClusterThatAlwaysFailsALittleIsNotAnIncidentButAJumpAboveBothThresholdsIs() {
        Incidents incidents = new Incidents();
        for (int s = 0; s < 1800; s++) {
            // 2%: below the absolute 5%, learnt as the baseline.
            assertThat(step(incidents, s, seen(traffic(1_000, 20, "x"), traffic(200, 0, "x"), false))).isEmpty();
        }
        // 5.5% is above 5% but not 3× the 2% baseline.
        assertThat(step(incidents, 1800, seen(traffic(1_000, 55, "x"), traffic(200, 0, "x"), false))).isEmpty();
        assertThat(step(incidents, 1801, seen(traffic(1_000, 70, "x"), traffic(200, 0, "x"), false)))
                .singleElement().extracting(Incidents.Notice::line).asString()
                .startsWith("incident 1 opened on cluster api: failed tries 7.0% over the last 10s (70 of 1000; threshold "
                        + "5.0%, baseline 2.0%)");
    }

    @Test
    void anIncidentClosesOnlyAfterItsEndpointIsBackAndTheClusterStayedRecoveredForCloseAfter() {
        Incidents incidents = new Incidents();
        step(incidents, 0, seen(traffic(10_000, 0, DEAD), traffic(2_000, 0, DEAD), false));
        step(incidents, 1, seen(traffic(10_000, 5, DEAD), traffic(2_000, 5, DEAD), true));
        Totals quiet = traffic(10_000, 0, DEAD);
        for (int s = 2; s < 20; s++) {
            // Ejected: no failures now, but not recovered either.
            assertThat(step(incidents, s, seen(quiet, quiet, true))).isEmpty();
        }
        assertThat(step(incidents, 20, seen(quiet, quiet, false))).isEmpty();
        assertThat(step(incidents, 24, seen(quiet, quiet, false))).isEmpty();
        List<Incidents.Notice> closed = step(incidents, 25, seen(quiet, quiet, false));

        assertThat(closed).singleElement().satisfies(n -> {
            assertThat(n.event()).isEqualTo("close");
            assertThat(n.line()).startsWith("incident 1 on cluster api closed after 24s: recovered:");
            assertThat(n.incident()).containsEntry("state", "closed");
        });
        assertThat(incidents.openOn("api")).isEmpty();
        assertThat((List<?>) incidents.toJson(T0).get("recent")).hasSize(1);
    }

    @Test
    void anAutomaticRollbackJoinsTheIncidentItEndsOrOpensOneOfItsOwn() {
        ConfigVersion bad = new ConfigVersion(2, T0, "POST /config", "cd".repeat(32), ConfigVersion.Outcome.BAD,
                Optional.empty(), 100, 100, "gateway error ratio 100.00%");
        ConfigVersion restored = new ConfigVersion(3, T0.plusSeconds(30), "auto-rollback", "ab".repeat(32),
                ConfigVersion.Outcome.BAKING, Optional.of(1), 0, 0, "");
        Incidents quiet = new Incidents();
        List<Incidents.Notice> own = quiet.autoRolledBack(T0.plusSeconds(30), bad, restored, "gateway error ratio 100.00%",
                restored, List.of(V1, bad, restored));
        assertThat(own).singleElement().extracting(Incidents.Notice::line).asString()
                .isEqualTo("incident 1 opened: auto-rollback: version 2 was judged bad (gateway error ratio 100.00%); "
                        + "now serving version 3, restored from version 1");

        Incidents busy = new Incidents();
        busy.step(T0.plusSeconds(5), CONFIG, List.of(seen(traffic(1_000, 900, DEAD), traffic(200, 200, DEAD), true)), bad,
                List.of(V1, bad));
        assertThat(busy.autoRolledBack(T0.plusSeconds(30), bad, restored, "gateway error ratio 100.00%", restored,
                List.of(V1, bad, restored))).as("no second alert").isEmpty();
        @SuppressWarnings("unchecked")
        Map<String, Object> incident = ((List<Map<String, Object>>) busy.toJson(T0.plusSeconds(30)).get("open")).get(0);
        assertThat(((Map<?, ?>) incident.get("actions")).get("rollbacks").toString()).contains("auto-rollback: version 2");
        assertThat(((Map<?, ?>) incident.get("config")).get("changed_just_before").toString()).contains("POST /config");
    }

    @Test
    void percentilesInterpolateWithinTheDoublingBuckets() {
        long[] buckets = new long[ClusterTallies.LATENCY_BUCKETS];
        buckets[0] = 99;
        buckets[10] = 1;
        assertThat(Incidents.percentile(buckets, 0.5)).isLessThanOrEqualTo(ClusterTallies.latencyBucketBoundNanos(0));
        assertThat(Incidents.percentile(buckets, 0.999)).isBetween(ClusterTallies.latencyBucketBoundNanos(9),
                ClusterTallies.latencyBucketBoundNanos(10));
        assertThat(Incidents.percentile(new long[ClusterTallies.LATENCY_BUCKETS], 0.99)).isZero();
    }
}
