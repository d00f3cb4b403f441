package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.RateLimitConfig;
import dev.sluice.config.RateLimitConfig.Key;
import dev.sluice.config.RateLimitConfig.Rate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.openjdk.jol.info.GraphLayout;

/**
 * A header key flooded with a million distinct values: the rule's state stays within the bound
 * docs/configuration.md gives, and a key that spent its burst before the flood is still limited
 * after it (the Envoy Gateway #9973 hole: evicted, it would come back with a full bucket).
 */
class RateLimiterMemoryTest {
    private static final long SECOND = 1_000_000_000L;
    /** The bound docs/configuration.md promises per key of max_keys, measured here. */
    static final long BYTES_PER_KEY = 300;

    private final long[] now = {7 * SECOND};

    private RateLimits limits() {
        RateLimitConfig perKey = new RateLimitConfig("key", new Key.Header("x-api-key"),
                Optional.of(new Rate(20, Duration.ofSeconds(1))), 40, 4, RateLimitConfig.Mode.ENFORCE,
                RateLimitConfig.DEFAULT_MAX_KEYS);
        long[] clock = now;
        return RateLimits.of(List.of(perKey), null, () -> clock[0]);
    }

    private static RateLimits.Keys key(String value) {
        return new RateLimits.Keys() {
            @Override
            public String client() {
                return "192.0.2.1";
            }

            @Override
            public String header(CharSequence name) {
                return value;
            }
        };
    }

    private static int allowed(RateLimits limits, String key, int requests) {
        int allowed = 0;
        for (int i = 0; i < requests; i++) {
            if (limits.admit(key(key)) instanceof RateLimits.Outcome.Allowed a) {
                a.release().release();
                allowed++;
            }
        }
        return allowed;
    }

    @Test
    void aMillionDistinctKeysStayWithinTheDocumentedBoundAndASpentKeyIsStillLimitedAfterThem() {
        RateLimits limits = limits();
        RateLimiter rule = limits.rules().get(0);
        assertThat(allowed(limits, "victim", 100)).isEqualTo(40);

        for (int i = 0; i < 1_000_000; i++) {
            allowed(limits, "flood-" + i, 1);
        }

        assertThat(allowed(limits, "victim", 100)).as("no token came back with the flood").isZero();
        assertThat(rule.keysHeld()).isEqualTo(RateLimitConfig.DEFAULT_MAX_KEYS);
        // The table's lambdas are hidden classes, whose field offsets JOL finds by trying.
        System.setProperty("jol.magicFieldOffset", "true");
        long bytes = GraphLayout.parseInstance(rule.table()).totalSize();
        System.out.printf("rate limit table after 10^6 keys: %d keys held, %d bytes (%d per key of max_keys)%n",
                rule.keysHeld(), bytes, bytes / RateLimitConfig.DEFAULT_MAX_KEYS);
        assertThat(bytes).isLessThanOrEqualTo(BYTES_PER_KEY * RateLimitConfig.DEFAULT_MAX_KEYS);
    }

    @Test
    void aKeyThatSpentItsBurstKeepsItsStateHoweverManyKeysComeAfterIt() {
        RateLimits limits = RateLimits.of(List.of(new RateLimitConfig("key", new Key.Header("x-api-key"),
                Optional.of(new Rate(20, Duration.ofSeconds(1))), 40, 0, RateLimitConfig.Mode.ENFORCE, 64)), null,
                () -> now[0]);
        assertThat(allowed(limits, "victim", 100)).isEqualTo(40);
        // Ten times the table: each newcomer takes one token, leaving the states it lands on far from empty.
        for (int i = 0; i < 640; i++) {
            allowed(limits, "flood-" + i, 1);
        }
        assertThat(allowed(limits, "victim", 100)).as("pushed out, it would land on a state with tokens").isZero();
    }
}
