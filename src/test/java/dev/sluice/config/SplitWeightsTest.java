package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SplitWeightsTest {
    private static final String TEXT = """
            listeners:
              - address: 127.0.0.1:8080
            routes:
              - match: { path_prefix: /static/ }
                cluster: stable
              - name: api   # the canary's route
                match: { path_prefix: / }
                backends:
                  - { cluster: stable, weight: 95 }
                  - cluster: canary
                    weight: 5       # a comment stays
                canary: { steps: [5, 25, 50] }
            clusters:
              - name: stable
                endpoints: [127.0.0.1:9001]
              - name: canary
                endpoints: [127.0.0.1:9002]
            """;

    @Test
    void onlyTheWeightsDigitsChange() throws Exception {
        String edited = SplitWeights.set(TEXT, "api", Map.of("stable", 100, "canary", 0));
        assertThat(edited).isEqualTo(TEXT.replace("weight: 95 }", "weight: 100 }").replace("weight: 5  ", "weight: 0  "));
        assertThat(ConfigLoader.parse(edited, "edited.yaml").routes().get(1).split().orElseThrow().backends())
                .containsExactly(new SplitConfig.Backend("stable", 100), new SplitConfig.Backend("canary", 0));
    }

    @Test
    void aRouteWithoutBackendsCannotBeEdited() {
        assertThatThrownBy(() -> SplitWeights.set(TEXT, "route-1", Map.of("stable", 0)))
                .hasMessage("the running config has no route 'route-1' with backends");
    }
}
