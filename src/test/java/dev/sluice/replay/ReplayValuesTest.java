package dev.sluice.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The small decisions of a replay, called directly: pacing, the tolerance, percentiles, route groups. */
class ReplayValuesTest {
    private static final Instant T0 = Instant.parse("2026-12-05T02:00:00Z");

    @Test
    void scaledPacingKeepsTheRecordedGapsDividedByTheFactor() {
        Pacing twice = Pacing.parse("2x");
        assertThat(twice.due(7, T0.plusMillis(500), T0)).isEqualTo(Duration.ofMillis(250));
        assertThat(Pacing.parse("1x").due(0, T0, T0)).isEqualTo(Duration.ZERO);
        assertThat(Pacing.parse("0.5x").due(1, T0.plusSeconds(1), T0)).isEqualTo(Duration.ofSeconds(2));
        assertThat(Pacing.parse("2x")).hasToString("2x");
    }

    @Test
    void aFixedRateSpacesRequestsEvenlyWhateverTheirRecordedTimes() {
        Pacing rate = Pacing.parse("200/s");
        assertThat(rate.due(0, T0.plusSeconds(60), T0)).isEqualTo(Duration.ZERO);
        assertThat(rate.due(3, T0, T0)).isEqualTo(Duration.ofMillis(15));
        assertThat(rate).hasToString("200/s");
    }

    @Test
    void ratesThatMeanNothingAreRefused() {
        for (String bad : List.of("0x", "-1x", "fast", "0/s", "10", "NaNx")) {
            assertThatThrownBy(() -> Pacing.parse(bad)).hasMessageContaining("is not a rate");
        }
    }

    @Test
    void maxDiffIsACountOrAShareOfTheRequestsSent() {
        assertThat(MaxDiff.NONE.exceededBy(0, 100)).isFalse();
        assertThat(MaxDiff.NONE.exceededBy(1, 100)).isTrue();
        assertThat(MaxDiff.parse("3").exceededBy(3, 10)).isFalse();
        assertThat(MaxDiff.parse("3").exceededBy(4, 10)).isTrue();
        assertThat(MaxDiff.parse("1%").exceededBy(10, 1000)).isFalse();
        assertThat(MaxDiff.parse("1%").exceededBy(11, 1000)).isTrue();
        assertThat(MaxDiff.parse("0.5%")).hasToString("0.5%");
        for (String bad : List.of("-1", "101%", "1.5", "some")) {
            assertThatThrownBy(() -> MaxDiff.parse(bad)).hasMessageContaining("is not a limit");
        }
    }

    @Test
    void percentilesAreByNearestRank() {
        List<Double> hundred = java.util.stream.IntStream.rangeClosed(1, 100).mapToObj(i -> (double) i).toList();
        assertThat(ReplayReport.percentiles(hundred)).containsExactly(50, 90, 99);
        assertThat(ReplayReport.percentiles(List.of(7.0))).containsExactly(7, 7, 7);
        assertThat(ReplayReport.percentiles(List.of())[0]).isNaN();
    }

    @Test
    void idsInAPathAreGroupedSoThatARouteIsAKindOfRequest() {
        assertThat(Recording.pathTemplate("/users/42/orders/7")).isEqualTo("/users/{id}/orders/{id}");
        assertThat(Recording.pathTemplate("/files/0f8fad5b-d9cb-469f-a165-70867728950e"))
                .isEqualTo("/files/{id}");
        assertThat(Recording.pathTemplate("/commits/9fceb02d0ae598e95dc970b74767f19372d61af8"))
                .isEqualTo("/commits/{id}");
        assertThat(Recording.pathTemplate("/v2/search")).isEqualTo("/v2/search");
        assertThat(Recording.pathTemplate("")).isEqualTo("/");
    }
}
