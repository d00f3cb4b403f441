package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {

    @Test
    void untilReturnsAsSoonAsTheConditionHolds() {
        AtomicInteger polls = new AtomicInteger();
        long start = System.nanoTime();
        Await.until(Duration.ofSeconds(10), () -> polls.incrementAndGet() >= 3, "third poll");
        assertThat(polls).hasValue(3);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void untilFailsWithTheDescriptionAtTheDeadline() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> Await.until(Duration.ofMillis(100), () -> false, "the moon to turn blue"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("the moon to turn blue")
                .hasMessageContaining("PT0.1S");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(100));
    }

    @Test
    void valueReturnsTheFirstAcceptedValueAndReportsTheLastSeenOnFailure() {
        AtomicInteger n = new AtomicInteger();
        assertThat(Await.value(Duration.ofSeconds(10), n::incrementAndGet, v -> v > 4, "five")).isEqualTo(5);
        assertThatThrownBy(() -> Await.value(Duration.ofMillis(50), () -> 7, v -> v > 9, "ten"))
                .hasMessageContaining("last value: 7");
    }

    @Test
    void untilAssertedRetriesAssertionsAndRethrowsTheLastFailure() {
        AtomicInteger n = new AtomicInteger();
        Await.untilAsserted(Duration.ofSeconds(10), () -> assertThat(n.incrementAndGet()).isGreaterThan(2));
        assertThatThrownBy(() -> Await.untilAsserted(Duration.ofMillis(50), () -> assertThat(1).isEqualTo(2)))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("Still failing after PT0.05S");
    }
}
