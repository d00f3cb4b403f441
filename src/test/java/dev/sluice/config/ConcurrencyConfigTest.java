package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ConcurrencyConfig.Mode;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The record holds only limits the runtime can enforce, whoever builds it. */
class ConcurrencyConfigTest {

    @Test
    void aFixedLimitAboveTheDefaultCeilingRaisesTheCeilingToIt() {
        assertThat(ConcurrencyConfig.fixed(50)).isEqualTo(new ConcurrencyConfig(Mode.FIXED, 50, 1000, 1000,
                Duration.ofSeconds(1)));
        assertThat(ConcurrencyConfig.fixed(5000).max()).isEqualTo(5000);
    }

    @Test
    void theDefaultCeilingLeavesRoomAboveBenchRunsFiftyConnections() {
        // bench/run: 50 client connections to one endpoint; neither the ceiling nor the queue may bind there.
        assertThat(ConcurrencyConfig.DEFAULT.mode()).isEqualTo(Mode.ADAPTIVE);
        assertThat(ConcurrencyConfig.DEFAULT.max()).isGreaterThan(10 * 50);
        assertThat(ConcurrencyConfig.DEFAULT.queue()).isGreaterThan(50);
    }

    @Test
    void limitsTheRuntimeCouldNotEnforceAreRefused() {
        Duration second = Duration.ofSeconds(1);
        assertThatThrownBy(() -> new ConcurrencyConfig(Mode.FIXED, 0, 10, 0, second))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("limit 0 must be from 1 to max 10");
        assertThatThrownBy(() -> new ConcurrencyConfig(Mode.FIXED, 11, 10, 0, second))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("limit 11 must be from 1 to max 10");
        assertThatThrownBy(() -> new ConcurrencyConfig(Mode.ADAPTIVE, 20, 1000, -1, second))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConcurrencyConfig(Mode.ADAPTIVE, 20, 1000, 0, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConcurrencyConfig(null, 20, 1000, 0, second)).isInstanceOf(NullPointerException.class);
    }
}
