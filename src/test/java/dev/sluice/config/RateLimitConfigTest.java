package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.config.RateLimitConfig.Mode;
import dev.sluice.config.RateLimitConfig.Rate;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code routes[].rate_limits}: what each key means and defaults to, and every mistake at its line and column. */
class RateLimitConfigTest {

    /** A route named lease whose rate_limits are {@code rules}, one per line from line 7, indented 6. */
    private static String withRules(String... rules) {
        StringBuilder yaml = new StringBuilder("""
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - name: lease
                    match: { path_prefix: /lease }
                    rate_limits:
                """);
        for (String rule : rules) {
            yaml.append("      - ").append(rule).append('\n');
        }
        return yaml.append("""
                    cluster: lease
                clusters:
                  - name: lease
                    endpoints: [127.0.0.1:9001]
                """).toString();
    }

    private static java.util.List<RateLimitConfig> rules(String... rules) throws ConfigException {
        return ConfigLoader.parse(withRules(rules), "test.yaml").routes().get(0).rateLimits();
    }

    @Test
    void theIssuesExampleBindsWithEachDefaultSpelledOut() throws ConfigException {
        assertThat(rules(
                "{ key: client, rate: 20/s, burst: 40, max_in_flight: 4 }",
                "{ key: \"header:X-Api-Key\", rate: 600/m }",
                "{ key: route, rate: 2000/s, mode: shadow }")).containsExactly(
                new RateLimitConfig("client", new Key.Client(), Optional.of(new Rate(20, Duration.ofSeconds(1))), 40, 4,
                        Mode.ENFORCE, RateLimitConfig.DEFAULT_MAX_KEYS),
                // Header names are case-insensitive: the key and its default name are lower case.
                new RateLimitConfig("header:x-api-key", new Key.Header("x-api-key"),
                        Optional.of(new Rate(600, Duration.ofMinutes(1))), 600, 0, Mode.ENFORCE,
                        RateLimitConfig.DEFAULT_MAX_KEYS),
                new RateLimitConfig("route", new Key.Route(), Optional.of(new Rate(2000, Duration.ofSeconds(1))), 2000, 0,
                        Mode.SHADOW, 1));
    }

    @Test
    void aRouteWithoutRateLimitsHasNone() throws ConfigException {
        assertThat(ConfigLoader.parse(ConfigLoaderTest.MINIMAL, "test.yaml").routes().get(0).rateLimits()).isEmpty();
    }

    @Test
    void eachKeyAsWrittenAndAnInFlightLimitAlone() throws ConfigException {
        assertThat(rules(
                "{ key: client, max_in_flight: 4 }",
                "{ name: per-hour, key: client, rate: 1000/h, burst: 10, max_keys: 100, scope: local, mode: enforce }"))
                .containsExactly(
                        new RateLimitConfig("client", new Key.Client(), Optional.empty(), 0, 4, Mode.ENFORCE,
                                RateLimitConfig.DEFAULT_MAX_KEYS),
                        new RateLimitConfig("per-hour", new Key.Client(), Optional.of(new Rate(1000, Duration.ofHours(1))),
                                10, 0, Mode.ENFORCE, 100));
    }

    @Test
    void ratesAreRequestsPerSecondMinuteOrHourAndAnythingElseSaysWhatToWrite() {
        assertThat(problems(withRules(
                "{ key: client, rate: 20 }",
                "{ key: client, rate: 20/d, name: a }",
                "{ key: client, rate: 0/s, name: b }",
                "{ key: client, rate: 1.5/s, name: c }",
                "{ key: client, rate: twenty per second, name: d }",
                "{ key: client, rate: 9999999999/s, name: e }",
                "{ key: client, rate: [20/s], name: f }"))).containsExactly(
                "7:30: routes[0].rate_limits[0].rate: invalid rate '20': missing the period (did you mean '20/s'?)",
                "8:30: routes[0].rate_limits[1].rate: invalid rate '20/d': the period must be s, m or h, "
                        + "e.g. 20/s, 600/m, 1000/h",
                "9:30: routes[0].rate_limits[2].rate: invalid rate '0/s': at least 1 request per period",
                "10:30: routes[0].rate_limits[3].rate: invalid rate '1.5/s': use a whole number of requests over a "
                        + "longer period, e.g. 90/m rather than 1.5/s",
                "11:30: routes[0].rate_limits[4].rate: invalid rate 'twenty per second': write requests/period, "
                        + "e.g. 20/s, 600/m, 1000/h",
                "12:30: routes[0].rate_limits[5].rate: invalid rate '9999999999/s': more than 1000000000 requests per "
                        + "period limits nothing",
                "13:30: routes[0].rate_limits[6].rate: expected a rate like 20/s, got a list");
    }

    @Test
    void keysAreClientRouteOrAHeaderWithAName() {
        assertThat(problems(withRules(
                "{ key: ip, rate: 1/s }",
                "{ key: clinet, rate: 1/s }",
                "{ key: \"header:\", rate: 1/s }",
                "{ key: \"header:x api\", rate: 1/s }",
                "{ rate: 1/s }"))).containsExactly(
                "7:16: routes[0].rate_limits[0].key: expected client, route or header:NAME, got 'ip'",
                "8:16: routes[0].rate_limits[1].key: expected client, route or header:NAME, got 'clinet' "
                        + "(did you mean 'client'?)",
                "9:16: routes[0].rate_limits[2].key: a header key needs the header's name: write header:NAME, "
                        + "e.g. header:x-api-key",
                "10:16: routes[0].rate_limits[3].key: 'x api' is not a valid header name",
                "11:9: missing required key 'key' in routes[0].rate_limits[4]");
    }

    @Test
    void burstAndMaxInFlightAreAtLeastOneAndABurstNeedsARate() {
        assertThat(problems(withRules(
                "{ key: client, rate: 1/s, burst: 0 }",
                "{ key: client, max_in_flight: 0, name: a }",
                "{ key: client, max_in_flight: 2, burst: 5, name: b }",
                "{ key: client, name: c }",
                "{ key: client, rate: 1/s, burst: many, name: d }"))).containsExactly(
                "7:42: routes[0].rate_limits[0].burst: 0 is out of range; it must be between 1 and 1000000000",
                "8:39: routes[0].rate_limits[1].max_in_flight: 0 is out of range; it must be at least 1",
                "9:49: routes[0].rate_limits[2].burst: a burst needs a rate: it is the size of the rate's bucket",
                "10:9: a rate limit needs 'rate', 'max_in_flight' or both in routes[0].rate_limits[3]",
                "11:42: routes[0].rate_limits[4].burst: expected a whole number, got the string 'many'");
    }

    @Test
    void modesNamesMaxKeysAndUnknownKeysAreChecked() {
        assertThat(problems(withRules(
                "{ key: client, rate: 1/s, mode: dry-run }",
                "{ key: route, rate: 1/s, max_keys: 10 }",
                "{ key: client, rate: 1/s, max_keys: 0, name: a }",
                "{ key: client, rate: 1/s, name: \"a b\" }",
                "{ key: client, rate: 1/s, bursts: 2, name: c }"))).containsExactly(
                "7:41: routes[0].rate_limits[0].mode: expected enforce or shadow, got 'dry-run'",
                "8:44: routes[0].rate_limits[1].max_keys: the route key is one key for the whole route; "
                        + "leave max_keys out",
                "9:45: routes[0].rate_limits[2].max_keys: 0 is out of range; it must be between 1 and 16777216",
                "10:41: routes[0].rate_limits[3].name: name 'a b' must be printable ASCII without spaces, quotes or "
                        + "backslashes: it is sent in the RateLimit fields",
                "11:35: unknown key 'bursts' in routes[0].rate_limits[4] (did you mean 'burst'?)");
    }

    @Test
    void twoRulesOfOneRouteNeedTwoNames() {
        assertThat(problems(withRules(
                "{ key: client, rate: 20/s }",
                "{ key: client, rate: 1000/h }"))).containsExactly(
                "8:11: duplicate rate limit 'client' in route 'lease' (first at 7:11); give one of them a 'name'");
    }

    @Test
    void rateLimitsMustBeAListOfMaps() {
        assertThat(problems(withRules().replace("    rate_limits:\n", "    rate_limits: { key: client }\n")))
                .containsExactly("6:18: routes[0].rate_limits: expected a list, got a map; start each item with '- '");
    }

    @Test
    void theRecordRefusesRulesTheRuntimeCouldNotEnforce() {
        Optional<Rate> rate = Optional.of(new Rate(1, Duration.ofSeconds(1)));
        assertThatThrownBy(() -> new RateLimitConfig("a", new Key.Client(), Optional.empty(), 0, 0, Mode.ENFORCE, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs a rate, a max_in_flight");
        assertThatThrownBy(() -> new RateLimitConfig("a", new Key.Client(), rate, 0, 0, Mode.ENFORCE, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("burst 0");
        assertThatThrownBy(() -> new RateLimitConfig("a", new Key.Route(), rate, 1, 0, Mode.ENFORCE, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_keys 2");
        assertThatThrownBy(() -> new Rate(0, Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
        assertThat(new Rate(600, Duration.ofMinutes(1)).text()).isEqualTo("600/m");
    }
}
