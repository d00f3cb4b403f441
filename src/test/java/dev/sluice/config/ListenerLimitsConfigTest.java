package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * {@code listeners[].max_connections} and {@code listeners[].idle_timeout_under_pressure}: their
 * defaults, the values they take, and each mistake reported at its line and column.
 */
class ListenerLimitsConfigTest {

    private static String withListenerKeys(String keys) {
        return """
                listeners:
                  - address: 127.0.0.1:8080
                %s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [127.0.0.1:9001]
                """.formatted(keys.indent(4).stripTrailing());
    }

    private static ListenerConfig listener(String keys) throws ConfigException {
        return ConfigLoader.parse(withListenerKeys(keys), "test.yaml").listeners().get(0);
    }

    @Test
    void unwrittenTheLimitIsAutoAndTheIdleTimeoutUnderPressureIsFiveSeconds() throws Exception {
        ListenerConfig l = listener("");
        assertThat(l.maxConnections()).isEmpty();
        assertThat(l.idleTimeoutUnderPressure()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void aWrittenLimitAndTimeoutAreTaken() throws Exception {
        ListenerConfig l = listener("max_connections: 5000\nidle_timeout_under_pressure: 2s");
        assertThat(l.maxConnections()).isEqualTo(OptionalInt.of(5000));
        assertThat(l.idleTimeoutUnderPressure()).isEqualTo(Duration.ofSeconds(2));
        assertThat(listener("max_connections: auto").maxConnections()).isEmpty();
    }

    @Test
    void anIdleTimeoutShorterThanFiveSecondsIsAlsoTheDefaultUnderPressure() throws Exception {
        assertThat(listener("idle_timeout: 3s").idleTimeoutUnderPressure()).isEqualTo(Duration.ofSeconds(3));
        // Equal to the idle timeout: the shrink is off.
        assertThat(listener("idle_timeout: 700s\nidle_timeout_under_pressure: 700s").idleTimeoutUnderPressure())
                .isEqualTo(Duration.ofSeconds(700));
    }

    @Test
    void aLimitBelowOneIsRefusedAtItsValue() throws Exception {
        assertThat(problems(withListenerKeys("max_connections: 0"))).containsExactly(
                "3:22: listeners[0].max_connections: 0 is out of range; it must be at least 1");
        assertThat(problems(withListenerKeys("max_connections: -5"))).containsExactly(
                "3:22: listeners[0].max_connections: -5 is out of range; it must be at least 1");
    }

    @Test
    void aLimitThatIsNeitherAutoNorANumberIsRefusedWithTheLikelyWord() throws Exception {
        assertThat(problems(withListenerKeys("max_connections: aut"))).containsExactly(
                "3:22: listeners[0].max_connections: expected auto or a whole number of at least 1, got the string "
                        + "'aut' (did you mean 'auto'?)");
        assertThat(problems(withListenerKeys("max_connections: 1.5"))).hasSize(1)
                .allSatisfy(p -> assertThat(p).startsWith("3:22: listeners[0].max_connections: expected auto or a whole number"));
    }

    @Test
    void anIdleTimeoutUnderPressureAboveTheIdleTimeoutIsRefused() throws Exception {
        assertThat(problems(withListenerKeys("idle_timeout: 620s\nidle_timeout_under_pressure: 15m"))).containsExactly(
                "4:34: listeners[0].idle_timeout_under_pressure: 15m is above idle_timeout (620s); under pressure "
                        + "the idle timeout only shrinks, so write at most 620s");
        assertThat(problems(withListenerKeys("idle_timeout_under_pressure: 0s"))).containsExactly(
                "3:34: listeners[0].idle_timeout_under_pressure: invalid duration '0s': must be greater than zero");
    }

    @Test
    void aMisspeltKeyIsMatchedToTheRealOne() throws Exception {
        assertThat(problems(withListenerKeys("max_conections: 10"))).containsExactly(
                "3:5: unknown key 'max_conections' in listeners[0] (did you mean 'max_connections'?)");
    }
}
