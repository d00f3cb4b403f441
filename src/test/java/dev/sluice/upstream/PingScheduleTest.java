package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.upstream.PingSchedule.Action;
import dev.sluice.upstream.PingSchedule.Step;
import org.junit.jupiter.api.Test;

/** {@link PingSchedule} on hand-made times: interval 10, timeout 5 (nanoseconds, as any unit would do). */
class PingScheduleTest {
    private static final long INTERVAL = 10;
    private static final long TIMEOUT = 5;
    private static final long SPACING = PingSchedule.QUIET_SPACING_NANOS;

    private static PingSchedule startedAt(long now) {
        return new PingSchedule(INTERVAL, TIMEOUT, now);
    }

    @Test
    void aConnectionThatHeardFromItsEndpointWithinTheIntervalWaitsForTheRest() {
        PingSchedule schedule = startedAt(0);
        schedule.heard(4, true);
        assertThat(schedule.next(6, true)).isEqualTo(new Step(Action.WAIT, 8));
    }

    @Test
    void aQuietConnectionCarryingAStreamIsPingedAndClosedWhenNothingAnswers() {
        PingSchedule schedule = startedAt(0);
        assertThat(schedule.next(10, true)).isEqualTo(new Step(Action.PING, TIMEOUT));
        assertThat(schedule.next(12, true)).isEqualTo(new Step(Action.WAIT, 3));
        assertThat(schedule.next(15, true).action()).isEqualTo(Action.CLOSE);
    }

    @Test
    void anyFrameAnswersAPingNotOnlyItsAck() {
        PingSchedule schedule = startedAt(0);
        schedule.next(10, true);
        schedule.heard(13, true);
        assertThat(schedule.next(15, true)).isEqualTo(new Step(Action.WAIT, 8));
        // The endpoint spoke since the PING: the next one may go an interval after it last did.
        assertThat(schedule.next(23, true).action()).isEqualTo(Action.PING);
    }

    @Test
    void aConnectionWithoutStreamsIsNotPingedButAStreamOnItAfterAnIntervalIsAskedAboutAtOnce() {
        PingSchedule schedule = startedAt(0);
        assertThat(schedule.next(10, false)).isEqualTo(new Step(Action.WAIT, INTERVAL));
        assertThat(schedule.next(35, false).action()).isEqualTo(Action.WAIT);
        // A request's HEADERS go out at 37 on a connection quiet since 0.
        assertThat(schedule.next(37, true).action()).isEqualTo(Action.PING);
    }

    @Test
    void whileTheEndpointSendsNoHeadersOrDataPingsAreFiveMinutesApart() {
        PingSchedule schedule = startedAt(0);
        assertThat(schedule.next(10, true).action()).isEqualTo(Action.PING);
        schedule.heard(11, false);
        // Quiet for an interval again, and the ACK (or a WINDOW_UPDATE, a SETTINGS) is all that
        // came: a gRPC server would count a strike.
        assertThat(schedule.next(21, true)).isEqualTo(new Step(Action.WAIT, 10 + SPACING - 21));
        assertThat(schedule.next(10 + SPACING - 1, true).action()).isEqualTo(Action.WAIT);
        assertThat(schedule.next(10 + SPACING, true).action()).isEqualTo(Action.PING);
    }

    @Test
    void anEndpointThatSendsHeadersOrDataBetweenPingsMayBePingedEveryInterval() {
        PingSchedule schedule = startedAt(0);
        schedule.next(10, true);
        schedule.heard(11, false);
        schedule.heard(12, true);
        assertThat(schedule.next(22, true).action()).isEqualTo(Action.PING);
    }
}
