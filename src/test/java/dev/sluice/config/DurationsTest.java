package dev.sluice.config;

import static dev.sluice.config.ParsedAssert.reason;
import static dev.sluice.config.ParsedAssert.value;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

    @Test
    void wholeNumberWithAUnitIsADuration() {
        assertThat(value(Durations.parse("250ms"))).isEqualTo(Duration.ofMillis(250));
        assertThat(value(Durations.parse("2s"))).isEqualTo(Duration.ofSeconds(2));
        assertThat(value(Durations.parse("5m"))).isEqualTo(Duration.ofMinutes(5));
        assertThat(value(Durations.parse("1h"))).isEqualTo(Duration.ofHours(1));
        assertThat(value(Durations.parse("620s"))).isEqualTo(Duration.ofSeconds(620));
    }

    @Test
    void bareNumberIsRefusedWithTheLikelyMeaning() {
        assertThat(reason(Durations.parse("30"))).isEqualTo("invalid duration '30': missing unit (did you mean '30s'?)");
    }

    @Test
    void zeroAndNegativeDurationsAreRefused() {
        assertThat(reason(Durations.parse("0s"))).isEqualTo("invalid duration '0s': must be greater than zero");
        assertThat(reason(Durations.parse("0ms"))).isEqualTo("invalid duration '0ms': must be greater than zero");
        assertThat(reason(Durations.parse("-5s"))).isEqualTo("invalid duration '-5s': must be positive");
    }

    @Test
    void fractionsAskForASmallerUnit() {
        assertThat(reason(Durations.parse("1.5s")))
                .isEqualTo("invalid duration '1.5s': use a whole number of a smaller unit, e.g. 1500ms rather than 1.5s");
    }

    @Test
    void anythingElseGetsExamples() {
        for (String text : new String[] {"5 sec", "5S", "1m30s", "2d", "s", "", "PT5S", " 5s"}) {
            assertThat(reason(Durations.parse(text)))
                    .as(text)
                    .isEqualTo("invalid duration '" + text + "': use e.g. 250ms, 2s, 5m");
        }
    }

    @Test
    void overflowIsReportedNotWrapped() {
        assertThat(reason(Durations.parse("99999999999999999999s"))).isEqualTo("invalid duration '99999999999999999999s': too large");
        assertThat(reason(Durations.parse("9223372036854775807h"))).isEqualTo("invalid duration '9223372036854775807h': too large");
    }
}
