package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.Await;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code versions.auto_rollback} and {@code run --auto-rollback}: a version judged bad at the end
 * of its bake is rolled back to the last known good without an operator, and the history says
 * who did it and why.
 */
class AutoRollbackTest {
    private static final Duration AWAIT = Duration.ofSeconds(20);
    private static final Duration BAKE = Duration.ofMillis(1500);

    @TempDir
    Path dir;

    /** /a/ goes to cluster a at {@code aEndpoint}, everything else to b. */
    private static String config(String aEndpoint, CountingBackend b, String versions) {
        return ControlConfigs.twoClusters(aEndpoint, b.address(), versions);
    }

    @Test
    void aReloadedConfigWhoseRouteGoesToADeadClusterIsRolledBackToTheLastKnownGood() throws Exception {
        String on = "versions: { auto_rollback: true }\n";
        try (CountingBackend a = new CountingBackend("a");
             CountingBackend b = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(config(a.address(), b, on), dir, BAKE)) {
            SteadyLoad load = SteadyLoad.start(sluice.listener(), 4, "/a/x");
            Await.until(AWAIT, () -> versions(sluice).path("last_known_good").asInt() == 1, "version 1 baked");

            sluice.writeConfig(config("127.0.0.1:1", b, on));
            assertThat(sluice.admin().post("/reload").json().path("version").asInt()).isEqualTo(2);
            Await.until(AWAIT, () -> versions(sluice).path("current").asInt() == 3, "version 2 rolled back by itself");
            long servedBefore = a.requests();
            Await.until(AWAIT, () -> a.requests() > servedBefore + 50, "cluster a serves /a/ again");
            load.stop();

            JsonNode versions = versions(sluice);
            JsonNode bad = versions.path("versions").get(1);
            JsonNode restored = versions.path("versions").get(2);
            assertThat(bad.path("outcome").asText()).as(bad.toString()).isEqualTo("bad");
            assertThat(bad.path("note").asText()).matches("gateway error ratio .*% is above version 1's 0\\.00%; "
                    + "rolled back automatically to version 1 \\(as version 3\\)");
            assertThat(restored.path("source").asText()).startsWith("auto-rollback to version 1 (the last known good): "
                    + "version 2 was judged bad: gateway error ratio ");
            assertThat(restored.path("restored_from").asInt()).isEqualTo(1);
            assertThat(restored.path("sha256").asText()).isEqualTo(versions.path("versions").get(0).path("sha256").asText());
            assertThat(versions.path("config_file_differs").asBoolean()).as("the file still holds version 2").isTrue();
        }
    }

    @Test
    void runWithAutoRollbackRollsBackAConfigThatDoesNotAskForIt() throws Exception {
        try (CountingBackend a = new CountingBackend("a");
             CountingBackend b = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(config(a.address(), b, ""), dir, BAKE, true)) {
            SteadyLoad load = SteadyLoad.start(sluice.listener(), 4, "/a/x");
            Await.until(AWAIT, () -> versions(sluice).path("last_known_good").asInt() == 1, "version 1 baked");

            sluice.admin().post("/config", config("127.0.0.1:1", b, ""));
            Await.until(AWAIT, () -> versions(sluice).path("current").asInt() == 3, "version 2 rolled back by itself");
            load.stop();

            assertThat(versions(sluice).path("versions").get(2).path("source").asText()).startsWith("auto-rollback to version 1");
        }
    }

    private static JsonNode versions(InProcessSluice sluice) {
        return sluice.admin().get("/config/versions").json();
    }
}
