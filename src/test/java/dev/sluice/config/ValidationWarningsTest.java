package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Warnings: settings that load but are known to lose requests. A warning never stops a config;
 * it is printed as {@code FILE:LINE:COL: warning: message}.
 */
class ValidationWarningsTest {

    @Test
    void aRouteFullyShadowedByAnEarlierRouteIsAWarningNotAnError() throws ConfigException {
        CheckedConfig checked = ConfigLoader.parseWithWarnings("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - name: all
                    match: { path_prefix: / }
                    cluster: app
                  - name: api
                    match: { path_prefix: /api/, methods: [GET] }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """, "sluice.yaml");

        assertThat(checked.config().routes()).hasSize(2);
        assertThat(checked.warnings()).extracting(ConfigWarning::toString).containsExactly(
                "sluice.yaml:7:5: warning: route 'api' can never match: route 'all' (at 4:5) comes first and matches "
                        + "every request it would; move the more specific route up");
    }

    @Test
    void loadAndParseStillReturnTheConfigWhenThereAreWarnings() throws ConfigException {
        String yaml = """
                listeners:
                  - address: 127.0.0.1:8080
                    idle_timeout: 60s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """;

        assertThat(ConfigLoader.parse(yaml, "x.yaml").listeners()).hasSize(1);
        assertThat(ConfigLoader.parseWithWarnings(yaml, "x.yaml").warnings()).hasSize(1);
    }

    @Test
    void shadowingFollowsTheMatchRules() {
        MatchConfig all = new MatchConfig(Optional.empty(), Optional.empty(), Optional.empty(), List.of(), Map.of());
        MatchConfig api = MatchConfig.prefix("/api/");
        MatchConfig apiGet = new MatchConfig(Optional.empty(), Optional.of("/api/"), Optional.empty(), List.of("GET"), Map.of());
        MatchConfig health = new MatchConfig(Optional.empty(), Optional.empty(), Optional.of("/api/health"), List.of(), Map.of());
        MatchConfig onHost = new MatchConfig(Optional.of("a.example.com"), Optional.of("/"), Optional.empty(), List.of(), Map.of());
        MatchConfig anySubdomain = new MatchConfig(Optional.of("*.example.com"), Optional.empty(), Optional.empty(), List.of(), Map.of());
        MatchConfig canary = new MatchConfig(Optional.empty(), Optional.of("/api/"), Optional.empty(), List.of(),
                Map.of("x-canary", "1"));

        assertThat(RouteShadowing.covers(all, api)).isTrue();
        assertThat(RouteShadowing.covers(api, apiGet)).isTrue();
        assertThat(RouteShadowing.covers(api, health)).isTrue();
        assertThat(RouteShadowing.covers(api, canary)).as("a header condition only narrows").isTrue();
        assertThat(RouteShadowing.covers(anySubdomain, onHost)).isTrue();

        assertThat(RouteShadowing.covers(apiGet, api)).as("a method condition leaves other methods").isFalse();
        assertThat(RouteShadowing.covers(canary, api)).isFalse();
        assertThat(RouteShadowing.covers(health, api)).isFalse();
        assertThat(RouteShadowing.covers(onHost, api)).isFalse();
        assertThat(RouteShadowing.covers(api, MatchConfig.prefix("/ap"))).isFalse();
        assertThat(RouteShadowing.covers(anySubdomain, new MatchConfig(Optional.of("example.com"), Optional.empty(),
                Optional.empty(), List.of(), Map.of()))).as("*.example.com never matches example.com").isFalse();
    }

    @Test
    void aFixedClusterIdleTimeoutOfFiveSecondsOrMoreWarnsOfTheKeepAliveRace() throws ConfigException {
        CheckedConfig checked = ConfigLoader.parseWithWarnings("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - match: { path_prefix: /a/ }
                    cluster: fixed
                  - match: { path_prefix: /b/ }
                    cluster: short
                  - match: { path_prefix: / }
                    cluster: learned
                clusters:
                  - { name: fixed, endpoints: [127.0.0.1:9001], idle_timeout: 5s }
                  - { name: short, endpoints: [127.0.0.1:9002], idle_timeout: 4s }
                  - { name: learned, endpoints: [127.0.0.1:9003], idle_timeout: auto }
                """, "sluice.yaml");

        assertThat(checked.warnings()).extracting(ConfigWarning::toString).singleElement().asString()
                .startsWith("sluice.yaml:11:63: warning: clusters[0].idle_timeout: 5s is not below 5s, the keep-alive "
                        + "timeout of Node.js and other common backends");
    }

    @Test
    void aListenerIdleTimeoutBelowTheCommonBalancerTimeoutWarns() throws ConfigException {
        CheckedConfig checked = ConfigLoader.parseWithWarnings("""
                listeners:
                  - address: 127.0.0.1:8080
                    idle_timeout: 60s
                  - address: 127.0.0.1:8081
                    idle_timeout: 15m
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """, "sluice.yaml");

        assertThat(checked.warnings()).extracting(ConfigWarning::toString).singleElement().asString()
                .startsWith("sluice.yaml:3:19: warning: listeners[0].idle_timeout: 60s is below 600s, the idle timeout "
                        + "of common load balancers");
    }

    @Test
    void theDefaultsGiveNoWarning() throws ConfigException {
        assertThat(ConfigLoader.parseWithWarnings(ConfigLoaderTest.MINIMAL, "sluice.yaml").warnings()).isEmpty();
    }

    @Test
    void aDrainTimeoutShorterThanARouteTimeoutWarnsThatSuchRequestsAreCut() throws ConfigException {
        CheckedConfig checked = ConfigLoader.parseWithWarnings("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - name: reports
                    match: { path_prefix: /reports/ }
                    cluster: app
                    timeout: 2m
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                drain:
                  timeout: 20s
                """, "sluice.yaml");

        assertThat(checked.warnings()).extracting(ConfigWarning::toString).containsExactly(
                "sluice.yaml:14:12: warning: drain.timeout: 20s is shorter than the timeout of route 'reports' (120s); "
                        + "a request still waiting for its response when a drain ends is cut");
    }
}
