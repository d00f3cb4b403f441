package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.config.ConfigStore;
import dev.sluice.config.EndpointConfig;
import dev.sluice.config.HostPort;
import dev.sluice.config.SluiceConfig;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

    private static CanaryEnd end(String status, String why) {
        return new CanaryEnd(status, Optional.of(Instant.parse("2026-12-05T08:00:00.123Z")), why, Optional.empty(), List.of());
    }

    @Test
    void howTheRunEndedIsKeptWholeOverARestartForTheSameCanaryOnly() throws Exception {
        String file = config(75, 25, "127.0.0.1:9002", "[25, 50]");
        Map<String, Object> step = new LinkedHashMap<>();
        step.put("step", 1);
        step.put("passed", false);
        step.put("missed", "min_requests");
        step.put("canary", Map.of("requests", 3, "error_ratio", 0.0));
        CanaryEnd end = new CanaryEnd("rolled_back", Optional.of(Instant.parse("2026-12-05T08:00:00.123456Z")),
                "canary canary rolled back on route api: step 1 of 2 (25%) failed", Optional.empty(), List.of(step));
        try (ConfigStore store = ConfigStore.open(dir)) {
            CanaryHolds holds = CanaryHolds.of(store);
            holds.hold("api", parse(file), Map.of("stable", 100, "canary", 0), end);
            holds.recorded("api", 3);
        }
        try (ConfigStore store = ConfigStore.open(dir)) {
            CanaryHolds holds = CanaryHolds.of(store);
            assertThat(holds.of("api", parse(file)).orElseThrow().end()).isEqualTo(new CanaryEnd(end.status(), end.at(),
                    end.why(), Optional.of(3), List.of(step)));
            String changed = config(75, 25, "127.0.0.1:9003", "[25, 50]");
            assertThat(holds.of("api", parse(changed))).as("another canary on the route").isEmpty();
        }
    }

    @Test
    void aHoldKeptBeforeItsEndWasKeptSaysHowItEndedFromItsWords() throws Exception {
        String file = config(100, 0, "127.0.0.1:9002", "[25, 50]");
        String identity = CanaryHolds.identity(parse(file), "api").orElseThrow();
        java.nio.file.Files.writeString(dir.resolve(CanaryHolds.FILE), """
                [ { "route": "api", "identity": "%s", "weights": { "canary": 0, "stable": 100 },
                    "why": "canary canary aborted on route api by an operator, at 25%%" } ]
                """.formatted(identity));
        try (ConfigStore store = ConfigStore.open(dir)) {
            CanaryEnd end = CanaryHolds.of(store).of("api", parse(file)).orElseThrow().end();
            assertThat(end.status()).isEqualTo("aborted");
            assertThat(end.why()).isEqualTo("canary canary aborted on route api by an operator, at 25%");
            assertThat(end.at()).as("not known").isEmpty();
            assertThat(end.version()).isEmpty();
            assertThat(end.judged()).isEmpty();
        }
    }

    @Test
    void aConfigDeployingTheSameCanaryAgainGetsTheHeldWeightsEvenAfterARestart() throws Exception {
        String file = config(75, 25, "127.0.0.1:9002", "[25, 50]");
        try (ConfigStore store = ConfigStore.open(dir)) {
            CanaryHolds holds = CanaryHolds.of(store);
            holds.hold("api", parse(file), Map.of("stable", 100, "canary", 0), end("rolled_back", "rolled back"));
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
        holds.hold("api", parse(file), Map.of("stable", 100, "canary", 0), end("rolled_back", "rolled back"));

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
    void aConfigThatSetsTheCanaryToZeroOrOneHundredItselfIsAppliedAsWrittenAndEndsTheHold() throws Exception {
        String file = config(95, 5, "127.0.0.1:9002", "[5, 50]");
        CanaryHolds holds = CanaryHolds.of(ConfigStore.inMemory());
        holds.hold("api", parse(file), Map.of("stable", 0, "canary", 100), end("promoted", "promoted"));
        assertThat(holds.pin(file, parse(file)).changed()).as("the file that started the run").isTrue();

        // Promoted: the stable is pointed at the new version and takes everything again.
        String retired = config(100, 0, "127.0.0.1:9002", "[5, 50]");
        assertThat(holds.pin(retired, parse(retired)).text()).isEqualTo(retired);
        assertThat(holds.of("api", parse(retired))).as("not held by that config").isEmpty();
        assertThat(holds.releaseChanged(parse(retired))).singleElement().asString().isEqualTo("route api: the config "
                + "sets its canary to 0% itself, so the weights held since \"promoted\" are released");
        assertThat(holds.pin(file, parse(file)).changed()).as("released for good").isFalse();

        holds.hold("api", parse(file), Map.of("stable", 100, "canary", 0), end("rolled_back", "rolled back"));
        assertThat(holds.releaseChanged(parse(config(100, 0, "127.0.0.1:9002", "[5, 50]")))).as("as held").isEmpty();
        String promotedByHand = config(0, 100, "127.0.0.1:9002", "[5, 50]");
        assertThat(holds.pin(promotedByHand, parse(promotedByHand)).changed()).isFalse();
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
        holds.hold("api", parse(file), Map.of("stable", 100, "canary", 0), end("aborted", "aborted"));
        holds.release("api");
        assertThat(holds.pin(file, parse(file)).text()).isEqualTo(file);
    }
}
