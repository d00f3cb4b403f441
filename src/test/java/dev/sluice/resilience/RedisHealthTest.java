package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Shared or fallback, moved by failures and probes with hand-made time: each move is told to one caller only. */
class RedisHealthTest {

    @Test
    void manyFailuresAtOnceMoveToFallbackOnceAndCountEach() throws InterruptedException {
        RedisHealth health = new RedisHealth(true, 1_000, "connected");
        AtomicInteger moves = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        Thread[] threads = new Thread[8];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 1_000; i++) {
                    if (health.failed(2_000, "timeout")) {
                        moves.incrementAndGet();
                    }
                }
            });
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(moves).as("one log line").hasValue(1);
        assertThat(health.errors()).isEqualTo(8_000);
        assertThat(health.standing()).isEqualTo(new RedisHealth.Standing(RedisHealth.State.FALLBACK, 2_000, "timeout"));
        assertThat(health.shared()).isFalse();
    }

    @Test
    void aProbeAnsweredMovesBackOnceAndAnotherOutageIsToldAgain() {
        RedisHealth health = new RedisHealth(true, 0, "connected");
        assertThat(health.failed(10, "timeout")).isTrue();
        assertThat(health.unreachable(1_010, "refused")).as("already down: nothing to tell").isFalse();
        assertThat(health.standing().sinceMillis()).as("down since the first failure").isEqualTo(10);
        assertThat(health.answered(2_010)).isTrue();
        assertThat(health.answered(3_010)).isFalse();
        assertThat(health.standing()).isEqualTo(new RedisHealth.Standing(RedisHealth.State.SHARED, 2_010, "answering"));
        assertThat(health.failed(4_000, "connection reset")).isTrue();
        assertThat(health.errors()).as("the probe's misses are not requests' errors").isEqualTo(2);
    }

    @Test
    void aRedisDownAtStartBeginsInFallback() {
        RedisHealth health = new RedisHealth(false, 5, "cannot connect");
        assertThat(health.shared()).isFalse();
        assertThat(health.answered(1_005)).isTrue();
    }
}
