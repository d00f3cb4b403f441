package dev.sluice.config;

import static dev.sluice.config.ConfigTesting.problems;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DrainConfigTest {
    private static final String BASE = ConfigTesting.MINIMAL;

    @Test
    void withoutADrainSectionTheDelayIsFiveSecondsAndTheTimeoutThirty() throws ConfigException {
        DrainConfig drain = ConfigLoader.parse(BASE, "x.yaml").drain();

        assertThat(drain).isEqualTo(DrainConfig.DEFAULT);
        assertThat(drain.delay()).isEqualTo(Duration.ofSeconds(5));
        assertThat(drain.timeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(drain.total()).isEqualTo(Duration.ofSeconds(35));
    }

    @Test
    void delayAndTimeoutAreReadAsDurations() throws ConfigException {
        assertThat(ConfigLoader.parse(BASE + "drain: { delay: 300ms, timeout: 2m }\n", "x.yaml").drain())
                .isEqualTo(new DrainConfig(Duration.ofMillis(300), Duration.ofMinutes(2)));
    }

    @Test
    void aZeroDelayIsAllowedForWhenNothingWatchesReadiness() throws ConfigException {
        assertThat(ConfigLoader.parse(BASE + "drain: { delay: 0s }\n", "x.yaml").drain().delay()).isZero();
    }

    @Test
    void aZeroTimeoutAndUnknownKeysAreErrors() {
        assertThat(problems(BASE + "drain: { timeout: 0s, grace: 5s }\n")).containsExactly(
                "9:19: drain.timeout: invalid duration '0s': must be greater than zero",
                "9:23: unknown key 'grace' in drain (allowed: delay, timeout)");
    }
}
