package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A listener's connections waiting for their clients, on an event loop whose clock the test
 * moves: idle ones are closed when the idle timeout in force runs out (the configured one without
 * pressure, a shorter one as the listener fills: 10 s falling to 1 s here); heads are answered 408
 * when the header timeout (4 s here) does; at the limit, the one that has waited longest is closed
 * to make room.
 */
class WaitingConnectionsTest {
    private static final int MAX = 20;
    private static final long HEADER_TIMEOUT = TimeUnit.SECONDS.toNanos(4);

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final EventLoop loop = channel.eventLoop();
    private final AtomicLong evicted = new AtomicLong();
    private final ConnectionLimit limit = new ConnectionLimit(MAX, TimeUnit.SECONDS.toNanos(10),
            TimeUnit.SECONDS.toNanos(1), new AtomicLong(), evicted);
    private final WaitingConnections idle;
    private final long start;
    /** Each closed connection's name and when (ms since start) it was closed. */
    private final List<String> closed = new ArrayList<>();

    WaitingConnectionsTest() {
        channel.freezeTime();
        idle = new WaitingConnections(loop, limit, HEADER_TIMEOUT, this::now);
        start = now();
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    private long now() {
        return loop.ticker().nanoTime();
    }

    private long elapsedMs() {
        return TimeUnit.NANOSECONDS.toMillis(now() - start);
    }

    private void runUntil(long ms) {
        while (elapsedMs() < ms) {
            channel.advanceTimeBy(1, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
        }
    }

    /** Brings the listener's open connections to {@code count}. */
    private void openConnections(int count) {
        while (limit.open() < count) {
            limit.tryOpen(() -> 0);
        }
        while (limit.open() > count) {
            limit.closed();
        }
    }

    /** A connection that, like a real one, leaves the listener's count as it closes. */
    private final class Conn extends TimedConnection {
        final String name;

        Conn(String name) {
            this.name = name;
        }

        @Override
        void idleExpired() {
            closed.add(name + "@" + elapsedMs());
            limit.closed();
        }

        /** The header timeout ran out (or the place was wanted): answered 408 and closed. */
        @Override
        void deadlinePassed() {
            closed.add(name + " 408@" + elapsedMs());
            limit.closed();
        }
    }

    private Conn goesIdle(String name) {
        Conn c = new Conn(name);
        idle.idleFrom(c, now());
        return c;
    }

    private Conn beginsHead(String name) {
        Conn c = new Conn(name);
        idle.headFrom(c, now());
        return c;
    }

    @Test
    void withoutPressureEachConnectionClosesWhenTheConfiguredTimeoutRunsOutAndNoSooner() {
        openConnections(10); // 50%
        goesIdle("a");
        runUntil(3_000);
        goesIdle("b");
        runUntil(20_000);
        assertThat(closed).containsExactly("a@10000", "b@13000");
    }

    @Test
    void pressureThatBeginsWhileConnectionsAreIdleClosesThoseIdleLongerThanTheShortTimeoutAtOnce() {
        openConnections(10);
        goesIdle("a");
        runUntil(500);
        goesIdle("b");
        runUntil(1_500);
        goesIdle("c");
        runUntil(2_000);
        openConnections(19); // 95%: what the connection that starts the pressure has each idle list do
        idle.sweepIdleNow();
        assertThat(closed).containsExactly("a@2000", "b@2000");
        // c, idle for half a second, gets the short timeout too, not the ten seconds it began with.
        runUntil(10_000);
        assertThat(closed).containsExactly("a@2000", "b@2000", "c@2500");
    }

    @Test
    void theIdleListsOfEveryEventLoopApplyTheSameTimeoutThoughTheFirstSweepRelievedThePressure() {
        WaitingConnections otherLoop = new WaitingConnections(loop, limit, HEADER_TIMEOUT, this::now);
        openConnections(19);
        for (int i = 0; i < 5; i++) {
            goesIdle("here" + i);
            otherLoop.idleFrom(new Conn("there" + i), now());
        }
        // The first sweep closes five and leaves 14 of 20 (70%, 10 s); the second, a moment later,
        // still closes its five: the timeout is sampled once for both.
        runUntil(1_000);
        assertThat(closed).hasSize(10).allSatisfy(c -> assertThat(c).endsWith("@1000"));
    }

    @Test
    void aTimeoutThatShrinksFurtherUnderPressureIsAppliedWithinASecond() {
        openConnections(17); // 85%: 7 s
        goesIdle("a");
        runUntil(2_000);
        assertThat(closed).isEmpty();
        openConnections(19); // 95%: 1 s, with no new beginning to sweep at once
        runUntil(10_000);
        assertThat(closed).hasSize(1);
        long closedAt = Long.parseLong(closed.get(0).substring(2));
        assertThat(closedAt).isBetween(2_000L, 3_000L);
    }

    @Test
    void aSweepClosesEveryConnectionIdleLongerThanTheTimeoutItReadAsItBegan() {
        openConnections(19);
        for (int i = 0; i < 5; i++) {
            goesIdle("c" + i);
        }
        // Each close lowers the pressure (14 of 20 after the five, none), yet the sweep that began
        // at 95% closes all five together.
        runUntil(1_000);
        assertThat(closed).containsExactly("c0@1000", "c1@1000", "c2@1000", "c3@1000", "c4@1000");
    }

    @Test
    void aHeadIsAnswered408WhenTheHeaderTimeoutSinceItBeganRunsOutAndNoSooner() {
        openConnections(19); // pressure shortens the idle timeout, never the header timeout
        beginsHead("a");
        runUntil(1_500);
        beginsHead("b");
        runUntil(10_000);
        assertThat(closed).containsExactly("a 408@4000", "b 408@5500");
        assertThat(idle.waiting()).isZero();
    }

    @Test
    void aConnectionWhoseHeadCameWholeOrThatWentIdleLeavesTheHeadsAndIsNotAnswered408() {
        Conn a = beginsHead("a");
        Conn b = beginsHead("b");
        runUntil(1_000);
        idle.leave(a); // its head came whole: a request began
        idle.idleFrom(b, now()); // (a head cannot go idle, but a member moves between the lists)
        runUntil(6_000);
        assertThat(closed).isEmpty();
        assertThat(idle.waiting()).isEqualTo(1);
    }

    @Test
    void theWaitingCountFollowsEveryJoinLeaveAndClose() {
        Conn a = goesIdle("a");
        beginsHead("b");
        goesIdle("c");
        assertThat(idle.waiting()).isEqualTo(3);
        idle.headFrom(a, now()); // moving between the lists is no new member
        assertThat(idle.waiting()).isEqualTo(3);
        idle.leave(a);
        idle.leave(a);
        assertThat(idle.waiting()).isEqualTo(2);
        runUntil(4_000); // b's header timeout
        assertThat(idle.waiting()).isEqualTo(1);
        runUntil(10_000); // c's idle timeout
        assertThat(idle.waiting()).isZero();
    }

    @Test
    void toMakeRoomTheConnectionThatHasWaitedLongestIsClosedWhetherIdleOrInItsHead() {
        openConnections(MAX);
        beginsHead("head0");
        runUntil(100);
        goesIdle("idle1");
        runUntil(200);
        beginsHead("head2");
        runUntil(300);
        goesIdle("idle3");
        runUntil(400);
        long acceptedAt = now();
        for (int i = 0; i < 4; i++) {
            assertThat(idle.closeLongestWaiting(acceptedAt)).isTrue();
        }
        // A head closed for room is answered 408, as its timeout would have.
        assertThat(closed).containsExactly("head0 408@400", "idle1@400", "head2 408@400", "idle3@400");
        assertThat(evicted).hasValue(4);
        assertThat(idle.waiting()).isZero();
        assertThat(idle.closeLongestWaiting(acceptedAt)).isFalse();
        assertThat(evicted).hasValue(4);
    }

    @Test
    void noConnectionThatBeganWaitingAtOrAfterTheNewOnesAcceptIsClosedForIt() {
        openConnections(MAX);
        goesIdle("old");
        runUntil(100);
        long acceptedAt = now();
        goesIdle("new"); // the accepted connection itself, registered on this loop before the closing runs
        runUntil(200);
        goesIdle("newer");
        assertThat(idle.closeLongestWaiting(acceptedAt)).isTrue();
        assertThat(idle.closeLongestWaiting(acceptedAt)).isFalse();
        assertThat(closed).containsExactly("old@200");
        assertThat(idle.waiting()).isEqualTo(2);
        assertThat(evicted).hasValue(1);
    }

    @Test
    void roomIsMadeOnTheEventLoopWhereTheMostConnectionsWait() {
        EmbeddedChannel second = new EmbeddedChannel();
        try {
            ListenerRuntime listener = new ListenerRuntime(dev.sluice.config.ListenerConfig.of(
                    new dev.sluice.config.HostPort("127.0.0.1", 0)));
            WaitingConnections few = listener.waitingConnections(loop, this::now);
            WaitingConnections many = listener.waitingConnections(second.eventLoop(), this::now);
            Conn oldest = new Conn("oldest-but-alone");
            few.idleFrom(oldest, now());
            runUntil(100);
            for (int i = 0; i < 3; i++) {
                many.idleFrom(new Conn("many" + i), now());
            }
            runUntil(200);
            assertThat(listener.waiting()).isEqualTo(4);
            listener.makeRoom();
            channel.runPendingTasks();
            second.runPendingTasks();
            assertThat(closed).containsExactly("many0@200");
            assertThat(listener.waiting()).isEqualTo(3);
            assertThat(listener.connections.evicted()).isEqualTo(1);
        } finally {
            second.finishAndReleaseAll();
        }
    }
}
