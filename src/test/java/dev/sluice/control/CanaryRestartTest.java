package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.Await;
import dev.sluice.testing.TestBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A canary's end over a restart of the process, as a user restarts it ({@code sluice run} again
 * with the same file and state directory): {@code GET /canaries} and {@code sluice canary status}
 * show it as they did before, rolled back and held, with when and why.
 */
class CanaryRestartTest {
    private static final Duration START = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void aRolledBackCanaryIsShownRolledBackAndHeldWithItsReasonAfterARestart() throws Exception {
        try (TestBackend stable = TestBackend.builder().handler(ex -> ex.respond(200, "stable")).start();
             TestBackend canary = TestBackend.builder().handler(ex -> ex.respond(200, "canary")).start()) {
            Path file = dir.resolve("sluice.yaml");
            // The file deploys the canary at 25%; with no traffic its first judgement rolls it back
            // (no data is no proof).
            Files.writeString(file, """
                    listeners:
                      - address: 127.0.0.1:0
                    routes:
                      - name: api
                        match: { path_prefix: / }
                        backends: [{ cluster: stable, weight: 75 }, { cluster: canary, weight: 25 }]
                        canary: { steps: [25, 50], interval: 500ms }
                    clusters:
                      - name: stable
                        endpoints: [127.0.0.1:%d]
                      - name: canary
                        endpoints: [127.0.0.1:%d]
                    admin:
                      address: 127.0.0.1:0
                    access_log: off
                    """.formatted(stable.port(), canary.port()));
            String state = dir.resolve("state").toString();

            JsonNode before;
            try (ChildSluice first = ChildSluice.start(dir, "run", "-c", file.toString(), "--state-dir", state)) {
                first.awaitStarted(START);
                before = Await.value(START, () -> first.admin().get("/canaries").json().path("canaries").path(0),
                        c -> c.path("status").asText().equals("rolled_back")
                                && !c.path("recorded_version").isNull() && c.has("held_because"),
                        "the canary rolled back, recorded and held");
                first.terminate();
                assertThat(first.awaitExit(START)).isZero();
            }
            assertThat(before.path("ended_because").asText())
                    .startsWith("canary canary rolled back on route api: step 1 of 2 (25%) failed: ");
            assertThat(before.path("held_because").asText()).isEqualTo(before.path("ended_because").asText());

            try (ChildSluice again = ChildSluice.start(dir, "run", "-c", file.toString(), "--state-dir", state)) {
                again.awaitStarted(START);
                JsonNode after = Await.value(START, () -> again.admin().get("/canaries").json().path("canaries")
                        .path(0), c -> !c.isMissingNode(), "the canary listed");
                // Everything as it was: rolled back at 0%, when and why, the version, the judged step.
                assertThat(after).isEqualTo(before);
                assertThat(after.path("status").asText()).isEqualTo("rolled_back");
                assertThat(after.path("weight").asInt()).isZero();
                assertThat(after.path("judged")).hasSize(1);

                ChildSluice.Ran status = ChildSluice.run(dir, START, "canary", "status", "--state-dir", state);
                assertThat(status.exitCode()).as(status.stderr()).isZero();
                assertThat(status.stdout()).as(status.stdout())
                        .containsPattern("api +canary +rolled_back \\(held\\) +0% +- +- +failed: ")
                        .contains("  ended " + after.path("ended_at").asText() + ": "
                                + after.path("ended_because").asText() + "; config version "
                                + after.path("recorded_version").asInt() + "\n")
                        .contains("  held at 0% over reloads and restarts; `sluice canary resume api` or a changed "
                                + "canary runs it again\n");
                assertThat(again.stderrText()).doesNotContain("ERROR");
            }
        }
    }
}
