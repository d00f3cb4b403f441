package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code routes[].backends}, {@code sticky} and {@code canary}: bound to records, or refused where written. */
class SplitConfigTest {
    private static String config(String route) {
        return """
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - name: api
                    match: { path_prefix: / }
                %s
                clusters:
                  - name: stable
                    endpoints: [127.0.0.1:9001]
                  - name: canary
                    endpoints: [127.0.0.1:9002]
                """.formatted(route.indent(4).stripTrailing());
    }

    private static RouteConfig bound(String route) throws Exception {
        return ConfigLoader.parse(config(route), ConfigTesting.SOURCE).routes().getFirst();
    }

    @Test
    void weightedBackendsBindWithTheirStickyKey() throws Exception {
        RouteConfig r = bound("""
                backends: [{ cluster: stable, weight: 90 }, { cluster: canary, weight: 10 }]
                sticky: { header: X-User }""");
        SplitConfig split = r.split().orElseThrow();
        assertThat(split.backends()).containsExactly(new SplitConfig.Backend("stable", 90),
                new SplitConfig.Backend("canary", 10));
        assertThat(split.sticky()).contains(new SplitConfig.StickyKey.Header("x-user"));
        assertThat(split.canary()).isEmpty();
        assertThat(r.cluster()).as("the first backend stands for the route's cluster").isEqualTo("stable");
        assertThat(r.clusters()).containsExactly("stable", "canary");
        assertThat(bound("backends: [{ cluster: stable, weight: 1 }, { cluster: canary, weight: 1 }]\n"
                + "sticky: { cookie: session }").split().orElseThrow().sticky())
                .contains(new SplitConfig.StickyKey.Cookie("session"));
    }

    @Test
    void aCanaryBindsWithItsDefaults() throws Exception {
        CanaryConfig c = bound("""
                backends: [{ cluster: stable, weight: 95 }, { cluster: canary, weight: 5 }]
                canary: { steps: [5, 25, 50, 100] }""").split().orElseThrow().canary().orElseThrow();
        assertThat(c).isEqualTo(new CanaryConfig("canary", List.of(5, 25, 50, 100), CanaryConfig.DEFAULT_INTERVAL,
                CanaryConfig.DEFAULT_MIN_REQUESTS, CanaryConfig.DEFAULT_MAX_ERROR_RATIO_INCREASE,
                CanaryConfig.DEFAULT_LATENCY_PERCENTILE, CanaryConfig.DEFAULT_MAX_LATENCY_FACTOR,
                CanaryConfig.DEFAULT_MIN_LATENCY_INCREASE));
        CanaryConfig tuned = bound("""
                backends: [{ cluster: canary, weight: 75 }, { cluster: stable, weight: 25 }]
                canary:
                  cluster: stable
                  steps: [25, 50]
                  interval: 500ms
                  min_requests: 5
                  max_error_ratio_increase: 0.05
                  latency: { percentile: 90, max_factor: 2, min_increase: 50ms }""")
                .split().orElseThrow().canary().orElseThrow();
        assertThat(tuned).isEqualTo(new CanaryConfig("stable", List.of(25, 50), Duration.ofMillis(500), 5, 0.05, 90,
                2.0, Duration.ofMillis(50)));
    }

    @Test
    void aSplitIsRefusedWhereItIsWrong() {
        assertThat(problems(config("""
                cluster: stable
                backends: [{ cluster: stable, weight: 95 }, { cluster: canary, weight: 5 }]""")))
                .containsExactly("7:5: routes[0]: 'cluster' and 'backends' together; a route sends requests to a "
                        + "cluster, splits them across clusters ('backends'), redirects them or answers them "
                        + "('respond'): choose one");
        assertThat(problems(config("backends: [{ cluster: stable, weight: 95 }, { cluster: canry, weight: 5 }]")))
                .containsExactly("6:60: route 'api' refers to undefined cluster 'canry' (did you mean 'canary'?)");
        assertThat(problems(config("backends: [{ cluster: stable, weight: -1 }, { cluster: canary, weight: 5 }]")))
                .containsExactly("6:43: routes[0].backends[0].weight: -1 is out of range; it must be between 0 and 10000");
        assertThat(problems(config("backends: [{ cluster: stable, weight: 0 }, { cluster: canary, weight: 0 }]")))
                .containsExactly("6:15: routes[0].backends: every weight is 0, so no request could be sent anywhere; "
                        + "give one backend a weight above 0");
        assertThat(problems(config("backends: [{ cluster: stable, weight: 1 }, { cluster: stable, weight: 2 }]")))
                .containsExactly("6:59: routes[0].backends[1].cluster: 'stable' is already a backend of this route "
                        + "(at 6:27); give each cluster one weight");
        assertThat(problems(config("backends: [{ cluster: stable, weight: 1 }]")))
                .containsExactly("6:15: routes[0].backends: a split needs at least two backends; for one, write "
                        + "'cluster: NAME'");
        assertThat(problems(config("backends: [{ cluster: stable }, { cluster: canary, weight: 1 }]")))
                .containsExactly("6:16: missing required key 'weight' in routes[0].backends[0]");
        assertThat(problems(config("cluster: stable\nsticky: { header: x-user }")))
                .containsExactly("7:5: routes[0].sticky: only for a route split across clusters ('backends: "
                        + "[{ cluster: stable, weight: 95 }, { cluster: canary, weight: 5 }]')");
        assertThat(problems(config("""
                backends: [{ cluster: stable, weight: 1 }, { cluster: canary, weight: 1 }]
                sticky: { header: x-user, cookie: s }""")))
                .containsExactly("7:13: routes[0].sticky: choose one of 'header' and 'cookie'; a request is hashed "
                        + "by one or the other");
    }

    @Test
    void aCanaryIsRefusedWhereItIsWrong() {
        String split = "backends: [{ cluster: stable, weight: 95 }, { cluster: canary, weight: 5 }]\n";
        assertThat(problems(config(split + "canary: { steps: [25, 5] }")))
                .containsExactly("7:27: routes[0].canary.steps[1]: steps must rise: 5 comes after 25");
        assertThat(problems(config(split + "canary: { steps: [5, 101] }")))
                .containsExactly("7:26: routes[0].canary.steps[1]: 101 is out of range; it must be between 1 and 100");
        assertThat(problems(config(split + "canary: { steps: [5], interval: 10ms }")))
                .containsExactly("7:37: routes[0].canary.interval: 10ms is too short to hold enough requests to "
                        + "judge; it must be at least 100ms");
        assertThat(problems(config(split + "canary: { steps: [5], cluster: other }")))
                .containsExactly("7:36: routes[0].canary.cluster: 'other' is not one of the route's backends "
                        + "(stable, canary)");
        assertThat(problems(config(split + "canary: { steps: [10, 50] }")))
                .containsExactly("6:76: routes[0].backends[1].weight: the canary's weight 5 is none of its steps "
                        + "[10, 50]; write 0 (no canary run), a step (the run starts there) or 100 (promoted)");
        assertThat(problems(config("backends: [{ cluster: stable, weight: 90 }, { cluster: canary, weight: 5 }]\n"
                + "canary: { steps: [5] }")))
                .containsExactly("6:15: routes[0].backends: a canary route's weights are percent and must add up "
                        + "to 100 (they add up to 95)");
        assertThat(problems(config(split + "canary: { steps: [5], max_error_ratio_increase: 2 }")))
                .containsExactly("7:53: routes[0].canary.max_error_ratio_increase: 2 is out of range; it must be at "
                        + "least 0 and at most 1");
        assertThat(problems(config(split + "canary: { stepz: [5] }")))
                .containsExactly("7:13: missing required key 'steps' in routes[0].canary",
                        "7:15: unknown key 'stepz' in routes[0].canary (did you mean 'steps'?)");
    }

    @Test
    void aRouteWithoutBackendsHasNoSplit() throws Exception {
        assertThat(bound("cluster: stable").split()).isEqualTo(Optional.empty());
    }
}
