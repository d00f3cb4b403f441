package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConcurrencyConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConcurrencyGateTest {
    private static final long MS = 1_000_000L;

    private static ConcurrencyGate fixed(int limit, int queue) {
        return new ConcurrencyGate(new ConcurrencyConfig(ConcurrencyConfig.Mode.FIXED, limit, Math.max(limit, 10), queue,
                Duration.ofSeconds(1)));
    }

    /** Records the order in which waiters are handed a slot. */
    private static final class Line {
        final List<String> admitted = new ArrayList<>();

        ConcurrencyGate.Waiter waiter(String name) {
            return () -> admitted.add(name);
        }
    }

    private static ConcurrencyGate.Wait queue(ConcurrencyGate gate, ConcurrencyGate.Waiter waiter) {
        ConcurrencyGate.Entry entry = gate.enqueue(waiter, 0);
        assertThat(entry).isInstanceOf(ConcurrencyGate.Entry.Queued.class);
        return ((ConcurrencyGate.Entry.Queued) entry).place();
    }

    @Test
    void requestsUpToTheLimitGoOnAndTheRestWaitUntilTheQueueIsFull() {
        ConcurrencyGate gate = fixed(2, 1);
        assertThat(gate.tryEnter()).isTrue();
        assertThat(gate.tryEnter()).isTrue();
        assertThat(gate.tryEnter()).isFalse();
        queue(gate, () -> { });
        assertThat(gate.enqueue(() -> { }, 0)).isInstanceOf(ConcurrencyGate.Entry.Full.class);
        assertThat(gate.inFlight()).isEqualTo(2);
        assertThat(gate.queued()).isEqualTo(1);
        assertThat(gate.shed()).isEqualTo(1);
    }

    @Test
    void aFreedSlotGoesToTheOldestWaiterExactlyOnce() {
        ConcurrencyGate gate = fixed(1, 10);
        Line line = new Line();
        assertThat(gate.tryEnter()).isTrue();
        queue(gate, line.waiter("first"));
        queue(gate, line.waiter("second"));
        gate.exit(0, 5 * MS, false);
        assertThat(line.admitted).containsExactly("first");
        assertThat(gate.inFlight()).as("the slot passed on, not freed").isEqualTo(1);
        gate.exit(0, 10 * MS, false);
        assertThat(line.admitted).containsExactly("first", "second");
        gate.exit(0, 15 * MS, false);
        assertThat(gate.inFlight()).isZero();
        assertThat(gate.queued()).isZero();
    }

    @Test
    void aWaiterThatGaveUpIsSkippedAndCountedAsShedWhenItsWaitRanOut() {
        ConcurrencyGate gate = fixed(1, 10);
        Line line = new Line();
        assertThat(gate.tryEnter()).isTrue();
        ConcurrencyGate.Wait timedOut = queue(gate, line.waiter("timed out"));
        ConcurrencyGate.Wait left = queue(gate, line.waiter("client left"));
        queue(gate, line.waiter("patient"));
        assertThat(timedOut.withdraw(true)).isTrue();
        assertThat(left.withdraw(false)).isTrue();
        assertThat(gate.queued()).isEqualTo(1);
        assertThat(gate.shed()).as("a client that left was not turned away").isEqualTo(1);
        gate.exit(0, MS, false);
        assertThat(line.admitted).containsExactly("patient");
    }

    @Test
    void aWaiterAlreadyHandedASlotCannotWithdraw() {
        ConcurrencyGate gate = fixed(1, 10);
        assertThat(gate.tryEnter()).isTrue();
        ConcurrencyGate.Wait wait = queue(gate, () -> { });
        gate.exit(0, MS, false);
        assertThat(wait.withdraw(true)).as("the slot is its own: it must give it back with exit").isFalse();
        assertThat(gate.shed()).isZero();
    }

    @Test
    void aSlotFreedWhileARequestJoinsTheQueueIsNotLost() {
        ConcurrencyGate gate = fixed(1, 10);
        assertThat(gate.tryEnter()).isTrue();
        gate.exit(0, MS, false);
        // The request found no slot a moment ago; by the time it queues, one is free: it takes it.
        Line line = new Line();
        queue(gate, line.waiter("late"));
        assertThat(line.admitted).containsExactly("late");
        assertThat(gate.inFlight()).isEqualTo(1);
    }

    @Test
    void offAdmitsEverythingAndCountsNothing() {
        ConcurrencyGate gate = new ConcurrencyGate(ConcurrencyConfig.OFF);
        for (int i = 0; i < 10_000; i++) {
            assertThat(gate.tryEnter()).isTrue();
        }
        assertThat(gate.inFlight()).isZero();
        assertThat(gate.limit()).isZero();
    }

    @Test
    void anAdaptiveLimitRisesWhileLatencyHoldsAndFallsWhenItClimbs() {
        // No jitter: the second baseline probe comes exactly 5 s after the first, after both phases.
        ConcurrencyGate gate = new ConcurrencyGate(ConcurrencyConfig.DEFAULT, () -> 0.0);
        int initial = gate.limit();
        long now = 0;
        // Busy at the limit, every request 10 ms: the backend keeps up, so the limit grows.
        for (int i = 0; i < 4_000; i++) {
            while (gate.tryEnter()) {
                // take every free slot, as a loaded gateway would
            }
            now += MS;
            gate.exit(now - 10 * MS, now, false);
        }
        int risen = gate.limit();
        assertThat(risen).isGreaterThan(initial);
        // The same load now takes 20x as long, and requests wait for a slot: the backend is queueing,
        // so the limit comes down.
        // 900 ms of it, so that the second probe (which would learn 200 ms as the new baseline) has
        // not begun: the fall is the gradient's, against the 10 ms baseline.
        gate.enqueue(() -> { }, now);
        for (int i = 0; i < 900; i++) {
            while (gate.tryEnter()) {
                // as above
            }
            gate.enqueue(() -> { }, now);
            now += MS;
            gate.exit(now - 200 * MS, now, false);
        }
        assertThat(gate.limit()).isLessThan(risen);
    }
}
