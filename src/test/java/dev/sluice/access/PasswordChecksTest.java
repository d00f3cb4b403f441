package dev.sluice.access;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.Queue;
import org.junit.jupiter.api.Test;

/** At most MAX_WAITING checks wait; the next is declined at once, and room comes back as checks run. */
class PasswordChecksTest {
    @Test
    void checksBeyondTheBoundAreDeclinedUntilOneRuns() {
        Queue<Runnable> held = new ArrayDeque<>();
        PasswordChecks checks = new PasswordChecks(held::add);
        int[] ran = {0};
        for (int i = 0; i < PasswordChecks.MAX_WAITING; i++) {
            assertThat(checks.offer(() -> ran[0]++)).isTrue();
        }
        assertThat(checks.offer(() -> ran[0]++)).isFalse();
        held.poll().run();
        assertThat(ran[0]).isEqualTo(1);
        assertThat(checks.offer(() -> ran[0]++)).isTrue();
        assertThat(checks.offer(() -> ran[0]++)).isFalse();
    }

    @Test
    void withoutAnExecutorEveryCheckIsDeclined() {
        assertThat(PasswordChecks.NONE.offer(() -> { })).isFalse();
    }
}
