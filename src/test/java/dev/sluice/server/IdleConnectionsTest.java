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
 * A listener's idle connections are closed when the idle timeout in force runs out: the
 * configured one without pressure, a shorter one as the listener fills (10 s falling to 1 s
 * here); on an event loop whose clock the test moves.
 */
class IdleConnectionsTest {
    private static final int MAX = 20;

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final EventLoop loop = channel.eventLoop();
    private final ConnectionLimit limit = new ConnectionLimit(MAX, TimeUnit.SECONDS.toNanos(10),
            TimeUnit.SECONDS.toNanos(1), new AtomicLong());
    private final IdleConnections idle;
    private final long start;
    /** Each closed connection's name and when (ms since start) it was closed. */
    private final List<String> closed = new ArrayList<>();

    IdleConnectionsTest() {
        channel.freezeTime();
        idle = new IdleConnections(loop, limit, this::now);
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
            limit.tryOpen();
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

        @Override
        void deadlinePassed() {
            throw new AssertionError("not in a deadline wheel");
        }
    }

    private void goesIdle(String name) {
        idle.add(new Conn(name), now());
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
        idle.sweepNow();
        assertThat(closed).containsExactly("a@2000", "b@2000");
        // c, idle for half a second, gets the short timeout too, not the ten seconds it began with.
        runUntil(10_000);
        assertThat(closed).containsExactly("a@2000", "b@2000", "c@2500");
    }

    @Test
    void theIdleListsOfEveryEventLoopApplyTheSameTimeoutThoughTheFirstSweepRelievedThePressure() {
        IdleConnections otherLoop = new IdleConnections(loop, limit, this::now);
        openConnections(19);
        for (int i = 0; i < 5; i++) {
            goesIdle("here" + i);
            otherLoop.add(new Conn("there" + i), now());
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
}
