package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.Await;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What needs a process of its own: SIGHUP, and a restart onto a broken config file. */
class SighupAndRestartTest {
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void anInvalidConfigOnSighupIsRefusedWithLineAndColumnWhileTrafficFlowsAndAValidOneIsApplied() throws Exception {
        Path file = dir.resolve("sluice.yaml");
        try (CountingBackend backend = new CountingBackend("app")) {
            Files.writeString(file, backend.childConfig("/"));
            try (ChildSluice sluice = ChildSluice.start(dir, "run", "-c", file.toString(), "--state-dir",
                    dir.resolve("state").toString())) {
                InetSocketAddress listener = sluice.awaitStarted(START);
                SteadyLoad load = SteadyLoad.start(listener, 8, "/x");
                Await.until(AWAIT, () -> load.responses() > 200, "traffic flowing");

                Files.writeString(file, backend.childConfig("/").replace("cluster: app", "cluster: ap"));
                sluice.signal("HUP");

                String refused = sluice.awaitLog(AWAIT, "refused config from file");
                assertThat(refused).contains("(SIGHUP); version 1 keeps serving");
                assertThat(sluice.stderr()).contains(file + ":5:14: route 'route-1' refers to undefined cluster 'ap' "
                        + "(did you mean 'app'?)");
                long after = load.responses();
                Await.until(AWAIT, () -> load.responses() > after + 200, "traffic after the refusal");

                Files.writeString(file, backend.childConfig("/x"));
                sluice.signal("HUP");
                sluice.awaitLog(AWAIT, "applied config version 2");
                long applied = load.responses();
                Await.until(AWAIT, () -> load.responses() > applied + 200, "traffic on version 2");
                load.stop();

                assertThat(load.failures()).isEmpty();
                assertThat(load.non200()).isEmpty();
                JsonNode versions = sluice.admin().get("/config/versions").json();
                assertThat(versions.path("current").asInt()).isEqualTo(2);
                assertThat(versions.path("refused").get(0).path("errors").get(0).asText())
                        .isEqualTo(file + ":5:14: route 'route-1' refers to undefined cluster 'ap' (did you mean 'app'?)");
                sluice.terminate();
                assertThat(sluice.awaitExit(AWAIT)).isZero();
            }
        }
    }

    @Test
    void aBrokenConfigAtStartNamesTheLastKnownGoodAndStartsFromItOnlyWhenAsked() throws Exception {
        Path file = dir.resolve("sluice.yaml");
        String state = dir.resolve("state").toString();
        try (CountingBackend backend = new CountingBackend("app")) {
            Files.writeString(file, backend.childConfig("/"));
            try (ChildSluice first = ChildSluice.start(dir, "run", "-c", file.toString(), "--state-dir", state,
                    "--bake-period", "100ms")) {
                first.awaitStarted(START);
                AdminHttp admin = first.admin();
                Await.until(AWAIT, () -> admin.get("/config/versions").json().path("last_known_good").asInt() == 1,
                        "version 1 baked");
                first.terminate();
                assertThat(first.awaitExit(AWAIT)).isZero();
            }
            Files.writeString(file, backend.childConfig("/").replace("endpoints: [", "endpoints: [127.0.0.1:99999, "));

            try (ChildSluice refused = ChildSluice.start(dir, "run", "-c", file.toString(), "--state-dir", state)) {
                assertThat(refused.awaitExit(START)).isEqualTo(1);
                assertThat(refused.stderrText())
                        .contains(file + ":8:17: clusters[0].endpoints[0]: invalid address '127.0.0.1:99999'")
                        .contains("the last known good config is version 1 (applied ")
                        .contains("run again with --fallback-to-last-good");
            }

            try (ChildSluice fallback = ChildSluice.start(dir, "run", "-c", file.toString(), "--state-dir", state,
                    "--fallback-to-last-good")) {
                InetSocketAddress listener = fallback.awaitStarted(START);
                assertThat(fallback.stderrText()).contains("STARTING FROM THE LAST KNOWN GOOD CONFIG, version 1");
                try (SteadyLoad load = SteadyLoad.start(listener, 1, "/")) {
                    Await.until(AWAIT, () -> load.responses() > 0, "a response from the fallback config");
                }
                JsonNode versions = fallback.admin().get("/config/versions").json();
                assertThat(versions.path("current").asInt()).isEqualTo(2);
                assertThat(versions.path("versions").get(1).path("restored_from").asInt()).isEqualTo(1);
                assertThat(versions.path("config_file_differs").asBoolean()).isTrue();
                fallback.terminate();
                assertThat(fallback.awaitExit(AWAIT)).isZero();
            }
        }
    }
}
