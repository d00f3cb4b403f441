package dev.sluice.apps;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AppConfig;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The wait before an app that keeps failing may start again: a pure function of the failures in a row. */
class BackoffTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void theDefaultWaitStartsAtOneSecondAndDoublesToAMinute() {
        Backoff backoff = Backoff.of(AppConfig.of(List.of("sh")));
        assertThat(IntStream.rangeClosed(0, 9).mapToLong(backoff::delayNanos).map(n -> n / SECOND).toArray())
                .containsExactly(0, 1, 2, 4, 8, 16, 32, 60, 60, 60);
        assertThat(backoff.delayNanos(1_000)).isEqualTo(60 * SECOND);
        assertThat(backoff.resetAfter()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void theNextStartIsCountedFromTheFailureNotFromTheStart() {
        Backoff backoff = new Backoff(200_000_000L, 800_000_000L);
        assertThat(backoff.nextStartNanos(5 * SECOND, 1)).isEqualTo(5_200_000_000L);
        assertThat(backoff.nextStartNanos(5 * SECOND, 3)).isEqualTo(5_800_000_000L);
        assertThat(backoff.nextStartNanos(5 * SECOND, 4)).isEqualTo(5_800_000_000L);
    }
}
