package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.server.ConnectionLimit.Opened;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/**
 * A listener's connection limit as a count: who gets in, who takes a waiting connection's place,
 * who is refused, and the idle timeout that follows from how full the listener is.
 */
class ConnectionLimitTest {
    private static final long IDLE = TimeUnit.SECONDS.toNanos(10);
    private static final long UNDER_PRESSURE = TimeUnit.SECONDS.toNanos(1);

    /** At the limit, nobody is waiting for their client: every connection has a request in flight. */
    private static final IntSupplier NONE_WAITING = () -> 0;

    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong evicted = new AtomicLong();

    private ConnectionLimit limit(int max) {
        return new ConnectionLimit(max, IDLE, UNDER_PRESSURE, refused, evicted);
    }

    private static List<Opened> open(ConnectionLimit limit, int count) {
        return open(limit, count, NONE_WAITING);
    }

    private static List<Opened> open(ConnectionLimit limit, int count, IntSupplier waiting) {
        List<Opened> answers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            answers.add(limit.tryOpen(waiting));
        }
        return answers;
    }

    @Test
    void connectionsPastTheLimitAreRefusedAndCountedWhenNoneIsWaitingAndAClosedOneMakesRoom() {
        ConnectionLimit limit = limit(3);
        assertThat(open(limit, 5)).containsExactly(Opened.OPENED, Opened.OPENED, Opened.PRESSURE_BEGAN, Opened.REFUSED,
                Opened.REFUSED);
        assertThat(limit.open()).isEqualTo(3);
        assertThat(limit.refused()).isEqualTo(2);

        limit.closed();
        assertThat(limit.tryOpen(NONE_WAITING)).isNotEqualTo(Opened.REFUSED);
        assertThat(limit.tryOpen(NONE_WAITING)).isEqualTo(Opened.REFUSED);
        assertThat(refused.get()).isEqualTo(3);
    }

    @Test
    void atTheLimitANewConnectionTakesAWaitingOnesPlaceAndTheWaitingAreAskedOnlyThen() {
        ConnectionLimit limit = limit(3);
        AtomicInteger asked = new AtomicInteger();
        IntSupplier twoWaiting = () -> {
            asked.incrementAndGet();
            return 2;
        };
        assertThat(open(limit, 3, twoWaiting)).doesNotContain(Opened.IN_PLACE_OF_WAITING, Opened.REFUSED);
        assertThat(asked).hasValue(0);
        assertThat(limit.tryOpen(twoWaiting)).isEqualTo(Opened.IN_PLACE_OF_WAITING);
        assertThat(asked).hasValue(1);
        // Counted in at once (4 of 3) until the waiting one it replaces has closed.
        assertThat(limit.open()).isEqualTo(4);
        limit.closed();
        assertThat(limit.open()).isEqualTo(3);
        assertThat(limit.refused()).isZero();
        // Room is made only where a connection waits; the count of the closed ones is kept by those closing them.
        assertThat(limit.tryOpen(NONE_WAITING)).isEqualTo(Opened.REFUSED);
        limit.evictedOne();
        assertThat(limit.evicted()).isEqualTo(1);
        assertThat(evicted).hasValue(1);
    }

    @Test
    void connectionsTakingWaitingOnesPlacesGoNoFurtherThanSixtyFourPastTheLimit() {
        // The waiting ones' closes lag (their loops are busy) or find nobody left: the count stays up.
        ConnectionLimit limit = limit(10);
        open(limit, 10);
        List<Opened> answers = open(limit, ConnectionLimit.MOST_OPENING_IN_PLACE + 5, () -> 1_000);
        assertThat(answers.subList(0, ConnectionLimit.MOST_OPENING_IN_PLACE)).containsOnly(Opened.IN_PLACE_OF_WAITING);
        assertThat(answers.subList(ConnectionLimit.MOST_OPENING_IN_PLACE, answers.size())).containsOnly(Opened.REFUSED);
        assertThat(limit.open()).isEqualTo(10 + ConnectionLimit.MOST_OPENING_IN_PLACE);
        assertThat(limit.refused()).isEqualTo(5);
    }

    @Test
    void pressureBeginsWithTheConnectionThatTakesTheListenerAboveEightyPercentEachTimeItDoes() {
        ConnectionLimit limit = limit(10);
        List<Opened> answers = open(limit, 10);
        // 8 of 10 is 80%, not above it; the 9th starts the pressure, the 10th finds it started.
        assertThat(answers.subList(0, 8)).containsOnly(Opened.OPENED);
        assertThat(answers.get(8)).isEqualTo(Opened.PRESSURE_BEGAN);
        assertThat(answers.get(9)).isEqualTo(Opened.OPENED);
        assertThat(limit.underPressure()).isTrue();

        limit.closed();
        limit.closed();
        assertThat(limit.underPressure()).isFalse();
        assertThat(limit.tryOpen(NONE_WAITING)).isEqualTo(Opened.PRESSURE_BEGAN);
    }

    @Test
    void theIdleTimeoutIsTheConfiguredOneUpToEightyPercentThenFallsToTheOneUnderPressureAtNinetyFive() {
        ConnectionLimit limit = limit(20);
        open(limit, 16); // 80%
        assertThat(limit.idleTimeoutNanos()).isEqualTo(IDLE);
        limit.tryOpen(NONE_WAITING); // 85%: a third of the way from 80% to 95%
        assertThat(limit.idleTimeoutNanos()).isEqualTo(IDLE - (IDLE - UNDER_PRESSURE) / 3);
        limit.tryOpen(NONE_WAITING); // 90%
        assertThat(limit.idleTimeoutNanos()).isEqualTo(IDLE - 2 * (IDLE - UNDER_PRESSURE) / 3);
        limit.tryOpen(NONE_WAITING); // 95%
        assertThat(limit.idleTimeoutNanos()).isEqualTo(UNDER_PRESSURE);
        limit.tryOpen(NONE_WAITING); // 100%
        assertThat(limit.idleTimeoutNanos()).isEqualTo(UNDER_PRESSURE);
        for (int i = 0; i < 5; i++) {
            limit.closed();
        }
        assertThat(limit.idleTimeoutNanos()).isEqualTo(IDLE);
    }

    @Test
    void underPressureAnIdleSweepWaitsAtMostASecondOrTheShortTimeout() {
        assertThat(limit(10).recheckNanos()).isEqualTo(UNDER_PRESSURE);
        assertThat(new ConnectionLimit(10, IDLE, TimeUnit.SECONDS.toNanos(5), refused, evicted).recheckNanos())
                .isEqualTo(TimeUnit.SECONDS.toNanos(1));
    }

    @Test
    void theAutoLimitIsHalfTheOpenFilesLeftAfterTheReserveSharedByTheListeners() {
        assertThat(ConnectionLimit.autoLimit(20_000, 1)).isEqualTo((20_000 - 256) / 2);
        assertThat(ConnectionLimit.autoLimit(20_000, 2)).isEqualTo((20_000 - 256) / 4);
        assertThat(ConnectionLimit.autoLimit(1_048_576, 1)).isEqualTo(524_160);
        assertThat(ConnectionLimit.autoLimit(1_024, 3)).isEqualTo(128);
        // Never zero, however small the limit: a listener that refuses everyone is no listener.
        assertThat(ConnectionLimit.autoLimit(100, 1)).isEqualTo(1);
    }

    @Test
    void theOpenFilesLimitIsTheOneTheJvmRunsWith() {
        var os = (com.sun.management.UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        assertThat(ConnectionLimit.openFilesLimit()).isEqualTo(os.getMaxFileDescriptorCount()).isPositive();
    }
}
