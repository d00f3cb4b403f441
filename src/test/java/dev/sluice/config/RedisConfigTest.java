package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.config.RateLimitConfig.Mode;
import dev.sluice.config.RateLimitConfig.Rate;
import dev.sluice.config.RateLimitConfig.Scope;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** {@code redis:} and {@code scope: global}: what they default to, and every mistake at its line and column. */
class RedisConfigTest {

    /** A route whose rate_limits are {@code rules} (one per line from line 7), then {@code tail} from line 12 on. */
    private static String config(String rule, String tail) {
        return """
                listeners:
                  - address: 127.0.0.1:8080
                routes:
                  - name: lease
                    match: { path_prefix: /lease }
                    rate_limits:
                      - %s
                    cluster: lease
                clusters:
                  - name: lease
                    endpoints: [127.0.0.1:9001]
                %s""".formatted(rule, tail);
    }

    @Test
    void theIssuesExampleBindsAGlobalRuleAndRedisWithItsDefaults() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse(config("{ key: \"header:x-api-key\", rate: 600/m, scope: global }",
                "redis:\n  address: 127.0.0.1:6379\n"), "test.yaml");
        assertThat(config.routes().get(0).rateLimits()).containsExactly(new RateLimitConfig("header:x-api-key",
                new Key.Header("x-api-key"), Optional.of(new Rate(600, Duration.ofMinutes(1))), 600, 0, Mode.ENFORCE,
                RateLimitConfig.DEFAULT_MAX_KEYS, Scope.GLOBAL));
        assertThat(config.redis()).contains(new RedisConfig(new HostPort("127.0.0.1", 6379), Duration.ofMillis(50),
                OptionalInt.empty()));
    }

    @Test
    void timeoutAndReplicasAreTakenAsWritten() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse(config("{ key: client, rate: 20/s, scope: local }",
                "redis: { address: \"redis.internal:6380\", timeout: 20ms, replicas: 3 }\n"), "test.yaml");
        assertThat(config.routes().get(0).rateLimits().get(0).scope()).isEqualTo(Scope.LOCAL);
        assertThat(config.redis()).contains(new RedisConfig(new HostPort("redis.internal", 6380), Duration.ofMillis(20),
                OptionalInt.of(3)));
    }

    @Test
    void aConfigWithoutRedisHasNoneAndItsRulesAreLocal() throws ConfigException {
        SluiceConfig config = ConfigLoader.parse(config("{ key: client, rate: 20/s }", ""), "test.yaml");
        assertThat(config.redis()).isEmpty();
        assertThat(config.routes().get(0).rateLimits().get(0).scope()).isEqualTo(Scope.LOCAL);
    }

    @Test
    void aGlobalRuleWithoutRedisIsRefusedWhereItsScopeIsWritten() {
        assertThat(problems(config("{ key: client, rate: 1/s, scope: global }", ""))).containsExactly(
                "7:42: routes[0].rate_limits[0].scope: scope: global shares the limit through Redis, and this config "
                        + "has no 'redis:' section; add one (redis: { address: host:port }), or write scope: local to "
                        + "limit each Sluice on its own");
    }

    @Test
    void aMisspelledScopeIsToldTheRightWord() {
        assertThat(problems(config("{ key: client, rate: 1/s, scope: gloabl }", "redis: { address: 127.0.0.1:6379 }\n")))
                .containsExactly("7:42: routes[0].rate_limits[0].scope: expected local or global, got 'gloabl' "
                        + "(did you mean 'global'?)");
    }

    @Test
    void aGlobalRuleLimitsARateNeverRequestsInFlight() {
        String redis = "redis: { address: 127.0.0.1:6379 }\n";
        assertThat(problems(config("{ key: client, rate: 1/s, max_in_flight: 4, scope: global }", redis)))
                .containsExactly("7:50: routes[0].rate_limits[0].max_in_flight: a global rule limits a rate only: "
                        + "requests in flight are counted by each Sluice, where they are held; put max_in_flight in a "
                        + "rule of its own (scope local), e.g. { key: client, max_in_flight: 4 }");
        assertThat(problems(config("{ key: client, max_in_flight: 4, scope: global }", redis)))
                .containsExactly("7:49: routes[0].rate_limits[0].scope: a global rule limits a rate, and this one has "
                        + "only max_in_flight: requests in flight are counted by each Sluice; leave scope out");
    }

    @Test
    void redisMistakesAreLocated() {
        String rule = "{ key: client, rate: 1/s, scope: global }";
        assertThat(problems(config(rule, "redis: { timeout: 50ms }\n"))).containsExactly(
                "12:8: missing required key 'address' in redis");
        assertThat(problems(config(rule, "redis:\n  address: localhost\n"))).singleElement().asString()
                .startsWith("13:12: redis.address: ");
        assertThat(problems(config(rule, "redis:\n  address: 127.0.0.1:6379\n  timeout: 50\n"))).singleElement()
                .asString().startsWith("14:12: redis.timeout: ");
        assertThat(problems(config(rule, "redis:\n  address: 127.0.0.1:6379\n  timeout: 1m\n"))).containsExactly(
                "14:12: redis.timeout: 60s is longer than 10s: every request of a global rate limit would wait that "
                        + "long each time Redis goes down; a working Redis answers in milliseconds");
        assertThat(problems(config(rule, "redis:\n  address: 127.0.0.1:6379\n  replicas: 0\n"))).containsExactly(
                "14:13: redis.replicas: 0 is out of range; it must be between 1 and 10000");
        assertThat(problems(config(rule, "redis:\n  adress: 127.0.0.1:6379\n"))).first().asString()
                .startsWith("13:3: ").contains("adress").contains("did you mean 'address'");
    }

    @Test
    void theRecordRefusesAGlobalRuleTheRuntimeCouldNotEnforce() {
        assertThatThrownBy(() -> new RateLimitConfig("a", new Key.Client(), Optional.empty(), 0, 4, Mode.ENFORCE, 16,
                Scope.GLOBAL)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("never requests in flight");
        assertThatThrownBy(() -> new RedisConfig(new HostPort("127.0.0.1", 6379), Duration.ZERO, OptionalInt.empty()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aGlobalRulesShareWhileRedisIsDownDividesRateAndBurstAmongTheReplicas() {
        RateLimitConfig global = new RateLimitConfig("api", new Key.Client(), Optional.of(new Rate(20, Duration.ofSeconds(1))),
                40, 0, Mode.ENFORCE, 16, Scope.GLOBAL);
        RateLimitConfig share = global.dividedAmong(3);
        assertThat(share.rate()).contains(new Rate(20, Duration.ofSeconds(3)));
        assertThat(share.burst()).as("40/3 rounded up").isEqualTo(14);
        assertThat(share.scope()).isEqualTo(Scope.LOCAL);
        assertThat(global.dividedAmong(100).burst()).as("at least one").isEqualTo(1);
    }
}
