package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigStore;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.HostPort;
import dev.sluice.config.SluiceConfig;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CanaryHoldsTest {
    @TempDir
    Path dir;

    private static String config(int stable, int canary, String canaryEndpoint, String steps) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: api
                    match: { path_prefix: / }
                    # the operator's comment stays
                    backends: [{ cluster: stable, weight: %d }, { cluster: canary, weight: %d }]
                    canary: { steps: %s }
                clusters:
                  - name: stable
                    endpoints: [127.0.0.1:9001]
                  - name: canary
                    endpoints: [%s]
                """.formatted(stable, canary, steps, canaryEndpoint);
    }

    private static SluiceConfig parse(String text) throws Exception {
        return ConfigLoader.parse(text, "sluice.yaml");
    }

    @Test
    void aConfigDeployingTheSameCanaryAgainGetsTheHeldWeightsEvenAfterARestart() throws Exception {
        String file = config(75, 25, "127.0.0.1:9002", "[25, 50]");
        try (ConfigStore store = ConfigStore.open(dir)) {
            CanaryHolds holds = CanaryHolds.of(store);
            holds.hold("api", parse(file), Map.of("stable", 100, "canary", 0), "rolled back");
            assertThat(holds.pin(file, parse(file)).text()).isEqualTo(config(100, 0, "127.0.0.1:9002", "[25, 50]"));
        }
        try (ConfigStore store = ConfigStore.open(dir)) {
            CanaryHolds.Pinned pinned = CanaryHolds.of(store).pin(file, parse(file));
            assertThat(pinned.text()).as("kept in the state directory").isEqualTo(config(100, 0, "127.0.0.1:9002",
                    "[25, 50]"));
            assertThat(pinned.routes()).containsExactly("api");
            assertThat(pinned.held()).singleElement().asString().startsWith("route api: the canary's weights stay "
                    + "{canary=0, stable=100} (rolled back)");
            assertThat(ControlPlane.heldAtStart(store, file, parse(file))).isEqualTo(pinned.text());
        }
    }

    @Test
    void aNewCanaryIsNotHeldAndReleasesTheHold() throws Exception {
        String file = config(75, 25, "127.0.0.1:9002", "[25, 50]");
        CanaryHolds holds = CanaryHolds.of(ConfigStore.inMemory());
        holds.hold("api", parse(file), Map.of("stable", 100, "canary", 0), "rolled back");

        String otherWeights = config(50, 50, "127.0.0.1:9002", "[25, 50]");
        assertThat(holds.pin(otherWeights, parse(otherWeights)).changed()).as("weights are not the canary's identity")
                .isTrue();
        for (String changed : new String[] {config(75, 25, "127.0.0.1:9003", "[25, 50]"),
                config(75, 25, "127.0.0.1:9002", "[25, 75]")}) {
            assertThat(holds.pin(changed, parse(changed)).changed()).as(changed).isFalse();
        }
        String newVersion = config(75, 25, "127.0.0.1:9003", "[25, 50]");
        assertThat(holds.releaseChanged(parse(file))).isEmpty();
        assertThat(holds.releaseChanged(parse(newVersion))).singleElement().asString()
                .startsWith("route api: its canary changed");
        assertThat(holds.pin(file, parse(file)).changed()).as("released for good").isFalse();
    }

    @Test
    void theCanarysIdentityIsTheSameTextInEveryJvm() {
        Map<String, String> reversed = new java.util.LinkedHashMap<>();
        reversed.put("track", "canary");
        reversed.put("app", "shop");
        EndpointConfig endpoint = new EndpointConfig(new HostPort("10.0.1.12", 3000), Map.of("app", "shop", "track",
                "canary"));
        // Map.copyOf's order changes from one JVM to the next; the identity's text does not.
        assertThat(CanaryHolds.canonical(endpoint)).isEqualTo(CanaryHolds.canonical(
                new EndpointConfig(new HostPort("10.0.1.12", 3000), reversed)))
                .isEqualTo("EndpointConfig[address=HostPort[host=10.0.1.12,port=3000,],labels={app=shop, "
                        + "track=canary},weight=1,]");
        assertThat(CanaryHolds.canonical(java.util.Optional.empty())).isEqualTo("none");
    }

    @Test
    void aResumedCanaryIsNotHeld() throws Exception {
        String file = config(75, 25, "127.0.0.1:9002", "[25, 50]");
        CanaryHolds holds = CanaryHolds.of(ConfigStore.inMemory());
        holds.hold("api", parse(file), Map.of("stable", 100, "canary", 0), "aborted");
        holds.release("api");
        assertThat(holds.pin(file, parse(file)).text()).isEqualTo(file);
    }
}
