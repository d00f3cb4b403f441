package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The deadline wheel fires each armed deadline once, never before it and at most a tick after,
 * and never one that was disarmed; on an event loop whose clock the test moves.
 */
class DeadlineWheelTest {
    private static final long TICK_MS = DeadlineWheel.TICK_MILLIS;

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final EventLoop loop = channel.eventLoop();
    private final DeadlineWheel wheel;
    private final long start;
    /** Each fired connection's name and the time (ms since start) it fired. */
    private final List<String> fired = new ArrayList<>();

    DeadlineWheelTest() {
        channel.freezeTime();
        wheel = new DeadlineWheel(loop, this::now);
        start = now();
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    private long now() {
        return loop.ticker().nanoTime();
    }

    private long atMs(long ms) {
        return start + TimeUnit.MILLISECONDS.toNanos(ms);
    }

    private long elapsedMs() {
        return TimeUnit.NANOSECONDS.toMillis(now() - start);
    }

    /** Moves the clock forward one millisecond at a time up to {@code ms} after start, running due tasks. */
    private void runUntil(long ms) {
        while (elapsedMs() < ms) {
            channel.advanceTimeBy(1, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
        }
    }

    private final class Conn extends TimedConnection {
        final String name;
        Consumer<Conn> onDeadline = c -> { };

        Conn(String name) {
            this.name = name;
        }

        @Override
        void idleExpired() {
            throw new AssertionError("not in an idle list");
        }

        @Override
        void deadlinePassed() {
            fired.add(name + "@" + elapsedMs());
            onDeadline.accept(this);
        }
    }

    private long firedAt(String name) {
        return fired.stream().filter(f -> f.startsWith(name + "@")).mapToLong(f -> Long.parseLong(f.substring(f.indexOf('@') + 1)))
                .findFirst().orElse(-1);
    }

    @Test
    void aDeadlineFiresOnceNotBeforeItAndWithinATickAfter() {
        Conn a = new Conn("a");
        Conn b = new Conn("b");
        wheel.add(a, atMs(250));
        wheel.add(b, atMs(3)); // shorter than a tick
        runUntil(249);
        assertThat(fired).containsExactly("b@" + firedAt("b"));
        assertThat(firedAt("b")).isBetween(3L, 3 + TICK_MS);
        runUntil(250 + TICK_MS);
        assertThat(firedAt("a")).isBetween(250L, 250 + TICK_MS);
        runUntil(2_000);
        assertThat(fired).hasSize(2);
        assertThat(a.listed()).isFalse();
    }

    @Test
    void aDisarmedDeadlineNeverFiresAndAnEmptyWheelKeepsNoTimer() {
        Conn a = new Conn("a");
        wheel.add(a, atMs(100));
        runUntil(50);
        a.unlink();
        runUntil(1_000);
        assertThat(fired).isEmpty();
        assertThat(channel.runScheduledPendingTasks()).as("next scheduled task").isEqualTo(-1);
    }

    @Test
    void reArmingReplacesTheDeadlineEarlierOrLater() {
        Conn earlier = new Conn("earlier");
        Conn later = new Conn("later");
        wheel.add(earlier, atMs(500));
        wheel.add(later, atMs(100));
        runUntil(20);
        wheel.add(earlier, atMs(60));
        wheel.add(later, atMs(400));
        runUntil(1_000);
        assertThat(firedAt("earlier")).isBetween(60L, 60 + TICK_MS);
        assertThat(firedAt("later")).isBetween(400L, 400 + TICK_MS);
        assertThat(fired).hasSize(2);
    }

    @Test
    void aDeadlineMovedLaterInPlaceFiresAtItsNewTime() {
        Conn body = new Conn("body");
        wheel.add(body, atMs(100));
        runUntil(90);
        body.timedAt = atMs(300); // what a body part arriving does
        runUntil(1_000);
        assertThat(firedAt("body")).isBetween(300L, 300 + TICK_MS);
        assertThat(fired).hasSize(1);
    }

    @Test
    void deadlinesSeveralTurnsAwayFireOnTimeNotAtTheirSlotsEarlierTurns() {
        long turnMs = DeadlineWheel.SLOTS * TICK_MS;
        Conn far = new Conn("far");
        Conn near = new Conn("near");
        wheel.add(far, atMs(2 * turnMs + 30));
        wheel.add(near, atMs(30)); // the same slot, two turns sooner
        runUntil(2 * turnMs + 30 + TICK_MS);
        assertThat(firedAt("near")).isBetween(30L, 30 + TICK_MS);
        assertThat(firedAt("far")).isBetween(2 * turnMs + 30, 2 * turnMs + 30 + TICK_MS);
        assertThat(fired).hasSize(2);
    }

    @Test
    void aStalledLoopFiresEveryOverdueDeadlineInItsNextSweep() {
        List<Conn> conns = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Conn c = new Conn("c" + i);
            conns.add(c);
            wheel.add(c, atMs(10 + 97L * i)); // spread over most of a turn
        }
        channel.advanceTimeBy(3 * DeadlineWheel.SLOTS * TICK_MS, TimeUnit.MILLISECONDS); // no sweep for three turns
        channel.runScheduledPendingTasks();
        assertThat(fired).hasSize(50);
        assertThat(conns).noneMatch(TimedConnection::listed);
    }

    @Test
    void aHandlerMayArmAgainWhileFiredAndOneThatFailsDoesNotStopTheOthers() {
        Conn retry = new Conn("retry");
        Conn broken = new Conn("broken");
        Conn other = new Conn("other");
        retry.onDeadline = c -> {
            if (fired.size() < 3) {
                wheel.add(c, now() + TimeUnit.MILLISECONDS.toNanos(100)); // a retry's new response deadline
            }
        };
        broken.onDeadline = c -> {
            throw new IllegalStateException("a handler's bug");
        };
        wheel.add(retry, atMs(50));
        wheel.add(broken, atMs(50));
        wheel.add(other, atMs(50));
        runUntil(1_000);
        assertThat(fired).extracting(f -> f.substring(0, f.indexOf('@')))
                .containsExactlyInAnyOrder("retry", "broken", "other", "retry");
        long first = Long.parseLong(fired.get(0).substring(fired.get(0).indexOf('@') + 1));
        assertThat(firedAt("other")).isBetween(50L, 50 + TICK_MS);
        assertThat(fired.stream().filter(f -> f.startsWith("retry@")).mapToLong(f -> Long.parseLong(f.substring(6))).max().getAsLong())
                .isBetween(first + 100, first + 100 + TICK_MS);
    }

    @Test
    void anErrorOutOfOneHandlerLeavesTheOthersOfItsSlotToFire() {
        Conn broken = new Conn("broken");
        Conn other = new Conn("other");
        broken.onDeadline = c -> {
            throw new AssertionError("an Error, not an exception");
        };
        wheel.add(broken, atMs(50));
        wheel.add(other, atMs(50)); // the same slot, after the broken one
        runUntil(1_000);
        assertThat(firedAt("broken")).isBetween(50L, 50 + TICK_MS);
        assertThat(firedAt("other")).as("fired, at most a tick later than it would have").isBetween(50L, 50 + 2 * TICK_MS);
        assertThat(other.listed()).isFalse();
    }

    @Test
    void aClockThatWrapsPastLongMaxValueChangesNothing() {
        // System.nanoTime may be anywhere in the long range, and may wrap during a run.
        long offset = Long.MAX_VALUE - now() - TimeUnit.MILLISECONDS.toNanos(100);
        DeadlineWheel wrapping = new DeadlineWheel(loop, () -> now() + offset);
        Conn before = new Conn("before");
        Conn across = new Conn("across");
        wrapping.add(before, atMs(60) + offset);
        wrapping.add(across, atMs(300) + offset); // after the wrap
        runUntil(1_000);
        assertThat(firedAt("before")).isBetween(60L, 60 + TICK_MS);
        assertThat(firedAt("across")).isBetween(300L, 300 + TICK_MS);
        assertThat(fired).hasSize(2);
    }
}
