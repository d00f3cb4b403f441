package dev.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ClusterConfig;
import dev.sluice.http.KeepAlive;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeepAliveTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void parsesTimeoutAndMaxInAnyOrderAndCase() {
        assertThat(KeepAlive.parse("timeout=5, max=1000")).isEqualTo(new KeepAlive(5, 1000));
        assertThat(KeepAlive.parse("MAX=3,Timeout=2")).isEqualTo(new KeepAlive(2, 3));
    }

    @Test
    void malformedOrMissingHeaderTeachesNothing() {
        assertThat(KeepAlive.parse(null)).isEqualTo(KeepAlive.NONE);
        assertThat(KeepAlive.parse("timeout=soon")).isEqualTo(KeepAlive.NONE);
        assertThat(KeepAlive.parse("timeout")).isEqualTo(KeepAlive.NONE);
    }

    @Test
    void learnedTimeoutMinusMarginBoundsReuseUnderAuto() {
        ClusterConfig auto = ClusterConfig.of("c", List.of());
        // Node.js advertises 5 s: reuse only within 4.5 s (10% margin).
        assertThat(IdleTimeouts.expiryNanos(auto, 5 * SECOND, -1)).isEqualTo(4_500_000_000L);
        // A 1 s backend: the 250 ms floor applies.
        assertThat(IdleTimeouts.expiryNanos(auto, SECOND, -1)).isEqualTo(750_000_000L);
        // Nothing learned yet: the cluster's idle timeout (4 s by default).
        assertThat(IdleTimeouts.expiryNanos(auto, -1, -1)).isEqualTo(4 * SECOND);
        // A generous backend is capped.
        assertThat(IdleTimeouts.expiryNanos(auto, 3600 * SECOND, -1)).isEqualTo(ClusterConfig.AUTO_IDLE_CAP.toNanos());
        // A backend that keeps nothing alive: never reuse.
        assertThat(IdleTimeouts.expiryNanos(auto, 0, -1)).isZero();
    }

    @Test
    void aBackendSeenClosingIdleConnectionsTeachesItsTimeoutWithoutAnyHeader() {
        ClusterConfig auto = ClusterConfig.of("c", List.of());
        // Python or uwsgi closing after 1 s, never saying so: learned from watching it close.
        assertThat(IdleTimeouts.expiryNanos(auto, -1, SECOND)).isEqualTo(750_000_000L);
        // Header and observation disagree: the shorter wins.
        assertThat(IdleTimeouts.expiryNanos(auto, 5 * SECOND, 2 * SECOND)).isEqualTo(1_750_000_000L);
    }

    @Test
    void fixedIdleTimeoutIsTakenAsWritten() {
        ClusterConfig fixed = new ClusterConfig("c", List.of(), Duration.ofSeconds(1), Duration.ofSeconds(30), false, 8,
                ClusterConfig.LoadBalancerKind.ROUND_ROBIN, Duration.ZERO, java.util.Optional.empty());
        assertThat(IdleTimeouts.expiryNanos(fixed, 5 * SECOND, -1)).isEqualTo(30 * SECOND);
    }

    @Test
    void aFixedIdleTimeoutAtOrAboveTheBackendsIsFlaggedOnce() {
        ClusterConfig fixed = new ClusterConfig("c", List.of(), Duration.ofSeconds(1), Duration.ofSeconds(10), false, 8,
                ClusterConfig.LoadBalancerKind.ROUND_ROBIN, Duration.ZERO, java.util.Optional.empty());
        Endpoint e = new Endpoint("c", "10.0.0.1:80", java.net.InetSocketAddress.createUnresolved("10.0.0.1", 80),
                java.util.Map.of(), 1, false, 0);
        io.netty.channel.embedded.EmbeddedChannel channel = new io.netty.channel.embedded.EmbeddedChannel();
        UpstreamConnection c = new UpstreamConnection(e, channel, new UpstreamCodec(8192, 65536).encoder(), 0);
        c.idleTimeoutNanos(fixed);
        assertThat(e.idleTimeoutRaces()).as("nothing learned yet").isFalse();
        c.learn(KeepAlive.parse("timeout=5"));
        assertThat(c.idleTimeoutNanos(fixed)).as("a fixed timeout is still taken as written").isEqualTo(10 * SECOND);
        assertThat(e.idleTimeoutRaces()).isTrue();
        channel.finishAndReleaseAll();
    }
}
