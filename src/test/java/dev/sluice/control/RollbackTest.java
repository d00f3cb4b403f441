package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.Sluice;
import dev.sluice.testing.Await;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Every applied config is a version; a rollback restores one through the same validated swap. */
class RollbackTest {
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** /a/ goes to cluster a, everything else to b; {@code aEndpoint} is where cluster a points. */
    private static String config(String aEndpoint, CountingBackend b) {
        return ControlConfigs.twoClusters(aEndpoint, b.address(), "");
    }

    @Test
    void rollbackAfterAConfigThatBreaksARouteMakesItWorkAgainAndTheHistoryShowsIt() throws Exception {
        try (CountingBackend a = new CountingBackend("a");
             CountingBackend b = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(config(a.address(), b), dir, Duration.ofMinutes(10))) {
            assertThat(get(sluice, "/a/x").status()).isEqualTo(200);
            // Version 2 points route a at a port nothing listens on.
            AdminHttp.Answer pushed = sluice.admin().post("/config", config("127.0.0.1:1", b));
            assertThat(pushed.status()).as(pushed.body()).isEqualTo(200);
            RawResponse broken = get(sluice, "/a/x");
            assertThat(broken.status()).isEqualTo(502);
            assertThat(broken.header("x-sluice-error")).isEqualTo("connect_refused");

            long start = System.nanoTime();
            AdminHttp.Answer rolledBack = sluice.admin().post("/rollback");

            assertThat(rolledBack.status()).as(rolledBack.body()).isEqualTo(200);
            assertThat(get(sluice, "/a/x").status()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
            JsonNode answer = rolledBack.json();
            assertThat(answer.path("version").asInt()).isEqualTo(3);
            assertThat(answer.path("restored_from").asInt()).isEqualTo(1);
            assertThat(answer.path("source").asText())
                    .isEqualTo("rollback to version 1 (the previous version; no other version has finished its bake period)");

            JsonNode versions = sluice.admin().get("/config/versions").json();
            assertThat(versions.path("current").asInt()).isEqualTo(3);
            assertThat(outcomes(versions)).containsExactly("1 replaced", "2 rolled_back", "3 baking");
            assertThat(versions.path("versions").get(1).path("source").asText()).isEqualTo("POST /config");
            assertThat(versions.path("versions").get(2).path("sha256").asText())
                    .isEqualTo(versions.path("versions").get(0).path("sha256").asText());
            assertThat(versions.path("config_file_differs").asBoolean()).as("the file still holds version 1").isFalse();
            assertThat(sluice.admin().get("/config/versions/2").body()).contains("127.0.0.1:1");
        }
    }

    @Test
    void aVersionBecomesLastKnownGoodAfterItsBakePeriodAndRollbackPrefersIt() throws Exception {
        try (CountingBackend a = new CountingBackend("a");
             CountingBackend b = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(config(a.address(), b), dir, Duration.ofMillis(200))) {
            Await.until(AWAIT, () -> sluice.admin().get("/config/versions").json().path("last_known_good").asInt() == 1,
                    "version 1 baked");
            sluice.admin().post("/config", config(a.address(), b).replace("cluster: a\n", "cluster: a\n    timeout: 5s\n"));
            Await.until(AWAIT, () -> sluice.admin().get("/config/versions").json().path("last_known_good").asInt() == 2,
                    "version 2 baked");
            sluice.admin().post("/config", config("127.0.0.1:1", b));
            assertThat(get(sluice, "/a/x").status()).isEqualTo(502);

            AdminHttp.Answer rolledBack = sluice.admin().post("/rollback");

            assertThat(rolledBack.json().path("restored_from").asInt()).isEqualTo(2);
            assertThat(rolledBack.json().path("source").asText()).isEqualTo("rollback to version 2 (the last known good)");
            assertThat(get(sluice, "/a/x").status()).isEqualTo(200);
            JsonNode versions = sluice.admin().get("/config/versions").json();
            assertThat(outcomes(versions)).startsWith("1 good", "2 good", "3 rolled_back");
            assertThat(versions.path("versions").get(0).path("note").asText()).contains("served its bake period");
        }
    }

    @Test
    void aVersionWhoseGatewayErrorRatioRoseIsMarkedBadAndNeverLastKnownGood() throws Exception {
        try (CountingBackend a = new CountingBackend("a");
             CountingBackend b = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(config(a.address(), b), dir, Duration.ofMillis(1500))) {
            SteadyLoad load = SteadyLoad.start(sluice.listener(), 4, "/a/x");
            Await.until(AWAIT, () -> sluice.admin().get("/config/versions").json().path("last_known_good").asInt() == 1,
                    "version 1 baked");

            sluice.admin().post("/config", config("127.0.0.1:1", b));
            Await.until(AWAIT, () -> !sluice.admin().get("/config/versions").json().path("versions").get(1)
                    .path("outcome").asText().equals("baking"), "version 2 judged");
            load.stop();

            JsonNode versions = sluice.admin().get("/config/versions").json();
            JsonNode v1 = versions.path("versions").get(0);
            JsonNode v2 = versions.path("versions").get(1);
            assertThat(v1.path("requests").asLong()).isGreaterThanOrEqualTo(100);
            assertThat(v1.path("local_replies").asLong()).isZero();
            assertThat(v2.path("outcome").asText()).as(v2.toString()).isEqualTo("bad");
            // Requests already in flight on version 1's endpoint when version 2 took over may still succeed
            // and count under version 2, so the ratio is close to, not exactly, 100%.
            assertThat(v2.path("note").asText()).matches("gateway error ratio (9\\d\\.\\d\\d|100\\.00)% is above version 1's 0\\.00%.*");
            assertThat(versions.path("last_known_good").asInt()).isEqualTo(1);
            assertThat(sluice.admin().post("/rollback").json().path("restored_from").asInt()).isEqualTo(1);
        }
    }

    @Test
    void rollbackToANamedVersionAndToOneThatDoesNotExist() throws Exception {
        try (CountingBackend a = new CountingBackend("a");
             CountingBackend b = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(config(a.address(), b), dir, Duration.ofMinutes(10))) {
            sluice.admin().post("/config", config("127.0.0.1:1", b));
            sluice.admin().post("/config", config("127.0.0.1:2", b));

            assertThat(sluice.admin().post("/rollback?to=9").status()).isEqualTo(404);
            assertThat(sluice.admin().post("/rollback?to=two").status()).isEqualTo(400);
            AdminHttp.Answer toOne = sluice.admin().post("/rollback?to=1");

            assertThat(toOne.status()).isEqualTo(200);
            assertThat(toOne.json().path("source").asText()).isEqualTo("rollback to version 1 (as asked)");
            assertThat(get(sluice, "/a/x").status()).isEqualTo(200);
            assertThat(sluice.admin().post("/rollback?to=4").json().path("unchanged").asBoolean())
                    .as("version 4 is the running config").isTrue();
        }
    }

    @Test
    void theRollbackCommandFindsTheRunningInstanceThroughItsStateDirectory() throws Exception {
        try (CountingBackend a = new CountingBackend("a");
             CountingBackend b = new CountingBackend("b");
             InProcessSluice sluice = InProcessSluice.start(config(a.address(), b), dir, Duration.ofMinutes(10))) {
            sluice.admin().post("/config", config("127.0.0.1:1", b));
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();

            int exit = run(out, err, "rollback", "--state-dir", dir.resolve("state").toString(), "--to", "1");

            assertThat(exit).as(err.toString()).isZero();
            assertThat(get(sluice, "/a/x").status()).isEqualTo(200);
            StringWriter listing = new StringWriter();
            assertThat(run(listing, err, "versions", "--state-dir", dir.resolve("state").toString())).isZero();
            assertThat(listing.toString()).contains("rollback to version 1 (as asked) *").contains("rolled_back");
        }
    }

    @Test
    void theRollbackCommandSaysSoWhenNothingRuns() {
        StringWriter err = new StringWriter();

        assertThat(run(new StringWriter(), err, "rollback", "--state-dir", dir.resolve("none").toString())).isEqualTo(2);
    }

    private static int run(StringWriter out, StringWriter err, String... args) {
        // The command prints with System.out/err; capture them for the assertion messages.
        java.io.PrintStream oldOut = System.out;
        java.io.PrintStream oldErr = System.err;
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream e = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(o, true));
        System.setErr(new java.io.PrintStream(e, true));
        try {
            return new CommandLine(new Sluice()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            out.write(o.toString());
            err.write(e.toString());
        }
    }

    private static List<String> outcomes(JsonNode versions) {
        List<String> list = new ArrayList<>();
        versions.path("versions").forEach(v -> list.add(v.path("version").asInt() + " " + v.path("outcome").asText()));
        return list;
    }

    private static RawResponse get(InProcessSluice sluice, String path) {
        try (RawHttpClient client = RawHttpClient.connect(sluice.listener())) {
            client.send("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
            return client.readFinalResponse(AWAIT);
        }
    }
}
