package dev.sluice.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.CanaryConfig;
import dev.sluice.config.SplitConfig;
import dev.sluice.config.SplitConfig.Backend;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SplitTest {
    private static Split split(int stable, int canary, boolean withCanary) {
        Optional<CanaryConfig> analysis = withCanary ? Optional.of(new CanaryConfig("canary", List.of(5, 25, 50),
                Duration.ofMinutes(1), 20, 0.01, 99, 1.5, Duration.ofMillis(10))) : Optional.empty();
        return new Split(new SplitConfig(List.of(new Backend("stable", stable), new Backend("canary", canary)),
                Optional.empty(), analysis));
    }

    private static Map<String, Integer> chosen(Split split, int points) {
        Map<String, Integer> by = new HashMap<>();
        for (long p = 0; p < points; p++) {
            by.merge(split.choose(p), 1, Integer::sum);
        }
        return by;
    }

    @Test
    void eachBackendGetsItsWeightsShareOfThePoints() {
        assertThat(chosen(split(90, 10, false), 1000)).containsEntry("stable", 900).containsEntry("canary", 100);
        assertThat(chosen(split(3, 1, false), 400)).containsEntry("stable", 300).containsEntry("canary", 100);
        assertThat(chosen(split(1, 0, false), 100)).containsOnlyKeys("stable");
        assertThat(split(1, 1, false).choose(Long.MIN_VALUE)).isIn("stable", "canary");
    }

    @Test
    void aRisingCanaryKeepsTheUsersItHadAndTakesNewOnes() {
        Split split = split(95, 5, true);
        List<Long> onCanary = new java.util.ArrayList<>();
        for (long p = 0; p < 1000; p++) {
            if (split.choose(p * 7919).equals("canary")) {
                onCanary.add(p * 7919);
            }
        }
        assertThat(onCanary).hasSize(50);
        split.setCanaryWeight(25);
        assertThat(onCanary).allSatisfy(p -> assertThat(split.choose(p)).isEqualTo("canary"));
        assertThat(chosen(split, 100)).containsEntry("canary", 25);
        assertThat(split.weightsNow()).containsExactly(new Backend("stable", 75), new Backend("canary", 25));
        assertThat(split.canaryWeight()).contains(25);
    }

    @Test
    void onlyACanarysWeightMoves() {
        assertThatThrownBy(() -> split(90, 10, false).setCanaryWeight(20)).isInstanceOf(IllegalArgumentException.class);
        assertThat(split(90, 10, false).canaryWeight()).isEmpty();
    }
}
