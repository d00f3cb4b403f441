package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.Sluice;
import dev.sluice.testing.Await;
import dev.sluice.testing.PrometheusText;
import dev.sluice.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Weighted backends and canaries end to end, on real sockets: a canary that fails 20% of POSTs is
 * rolled back by its first judgement, recorded as a version and an incident with an alert, and
 * its clients saw no more errors than its weight allows; a good canary goes through every step
 * to 100% by itself; an operator promotes and aborts over the admin API; a sticky key keeps a
 * user on one backend, and the access log names the cluster each request went to.
 */
class CanaryTest {
    private static final String SECRET = "0123456789abcdef0123456789abcdef";
    private static final Duration AWAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /** A backend answering with its name; with {@code failEvery} > 0, every n-th POST gets a 500. */
    private static TestBackend backend(String name, int failEvery) {
        AtomicLong posts = new AtomicLong();
        return TestBackend.builder().recordLimit(10).handler(ex -> {
            boolean fail = failEvery > 0 && ex.method().equals("POST") && posts.incrementAndGet() % failEvery == 0;
            ex.respond(fail ? 500 : 200, name);
        }).start();
    }

    private static String config(TestBackend stable, TestBackend canary, String split, String extra) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: api
                    match: { path_prefix: / }
                %s
                clusters:
                  - name: stable
                    endpoints: [127.0.0.1:%d]
                  - name: canary
                    endpoints: [127.0.0.1:%d]
                admin:
                  address: 127.0.0.1:0
                incidents: { close_after: 1s }
                %s
                """.formatted(split.indent(4).stripTrailing(), stable.port(), canary.port(), extra);
    }

    /**
     * Stable and canary weights to fill in: a run starts when a reload gives the canary a step's
     * weight. 3 s intervals hold enough requests on a loaded machine (34 a second were seen, so
     * about 25 on the canary at 25%); the bad canary's 5 requests hold at least one of its 500s
     * (every fifth POST), so its first judgement fails on its error ratio whatever the load.
     */
    private static final String BAD_CANARY = """
            backends: [{ cluster: stable, weight: %d }, { cluster: canary, weight: %d }]
            canary: { steps: [25, 50, 100], interval: 3s, min_requests: 5 }""";
    private static final String GOOD_CANARY = """
            backends: [{ cluster: stable, weight: %d }, { cluster: canary, weight: %d }]
            canary:
              steps: [20, 50, 100]
              interval: 3s
              min_requests: 5
              # A loaded test machine's scheduling noise is not the canary's latency.
              latency: { min_increase: 1s }""";

    private static String alerts(WebhookReceiver hook) {
        return "access_log: off\nalerts: { webhook: \"" + hook.url() + "\", secret: " + SECRET + " }";
    }

    /** The new config in the file, reloaded: how a canary is deployed. */
    private static void deploy(InProcessSluice sluice, String yaml) throws Exception {
        sluice.writeConfig(yaml);
        AdminHttp.Answer reloaded = sluice.admin().post("/reload");
        assertThat(reloaded.status()).as(reloaded.body()).isEqualTo(200);
        Await.until(AWAIT, () -> canaries(sluice).path(0).path("status").asText().equals("running"),
                "the canary's run started");
    }

    @Test
    void aCanaryFailingOneInFivePostsIsRolledBackAtItsFirstJudgementAndItsClientsSawAtMostItsShareOfErrors()
            throws Exception {
        try (WebhookReceiver hook = new WebhookReceiver(SECRET);
             TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 5);
             InProcessSluice sluice = InProcessSluice.start(config(stable, canary, BAD_CANARY.formatted(100, 0),
                     alerts(hook)), dir, Duration.ofMinutes(10))) {
            Clients clients = Clients.start(sluice.listener(), 8, i -> Map.of());
            Await.until(AWAIT, () -> clients.tally().total() >= 200, "the clients are under way");
            Instant deployed = Instant.now();
            deploy(sluice, config(stable, canary, BAD_CANARY.formatted(75, 25), alerts(hook)));
            JsonNode run = Await.value(AWAIT, () -> canaries(sluice).get(0), c -> !c.path("status").asText()
                    .equals("running"), "the canary's run ended");
            clients.stop();

            // Counted from Sluice's own analysis records, not from a clock: one judgement, of step 1, failed.
            assertThat(run.path("status").asText()).isEqualTo("rolled_back");
            assertThat(run.path("weight").asInt()).isZero();
            JsonNode judged = run.path("judged");
            assertThat(judged).as("rolled back at its first judgement, within two intervals").hasSize(1);
            JsonNode first = judged.get(0);
            assertThat(first.path("step").asInt()).isEqualTo(1);
            assertThat(first.path("weight").asInt()).isEqualTo(25);
            assertThat(first.path("passed").asBoolean()).isFalse();
            assertThat(first.path("missed").asText()).as(first.toString()).isEqualTo("max_error_ratio_increase");
            assertThat(first.path("canary").path("error_ratio").asDouble()).isGreaterThan(0.01);
            assertThat(first.path("stable").path("error_ratio").asDouble()).isZero();
            assertThat(run.path("ended_because").asText()).startsWith("canary canary rolled back on route api: step 1 "
                    + "of 3 (25%) failed: error ratio");

            // What the clients got while the canary had its first step's weight: from the reload to
            // the judgement that set it to 0, by the time each answer reached its client.
            Clients.Tally step1 = clients.answeredBetween(deployed, Instant.parse(first.path("at").asText()));
            assertThat(step1.byBackend().getOrDefault("canary", 0L)).as("the canary took part").isPositive();
            assertThat(step1.errors()).as("its 500s reached clients").isPositive();
            assertThat(step1.errorsFrom()).containsOnlyKeys("canary");
            // The canary fails at most every fifth of its answers (20%); it takes each request with
            // probability 25%, so the noise is that draw's: three standard deviations of its share.
            double noise = 0.20 * 3 * Math.sqrt(0.25 * 0.75 / step1.total());
            assertThat((double) step1.errors() / step1.total()).as("%s errors in %s answers", step1.errors(),
                    step1.total()).isLessThanOrEqualTo(0.25 * 0.20 + noise);

            // Recorded as a version with the canary's weight at 0, and as an incident with its alert.
            int recorded = run.path("recorded_version").asInt();
            JsonNode versions = sluice.admin().get("/config/versions").json();
            assertThat(versions.path("current").asInt()).isEqualTo(recorded).isEqualTo(3);
            assertThat(source(sluice, recorded)).startsWith("canary canary rolled back on route api: step 1 of 3 (25%) "
                    + "failed: error ratio");
            assertThat(sluice.admin().get("/config").body())
                    .contains("backends: [{ cluster: stable, weight: 100 }, { cluster: canary, weight: 0 }]");
            JsonNode incident = sluice.admin().get("/incidents").json().path("open").get(0);
            assertThat(incident.path("opened_because").asText()).startsWith("canary canary rolled back on route api");
            assertThat(incident.path("config").path("version").asInt()).isEqualTo(recorded);
            Await.until(AWAIT, () -> !hook.alerts("open").isEmpty(), "the alert arrived");
            assertThat(hook.alerts("open").getFirst().signed()).isTrue();

            // From now on the stable takes everything.
            assertStableOnly(sluice);

            // The file still gives the canary 25%: reloading it keeps the canary at 0.
            AdminHttp.Answer reloaded = sluice.admin().post("/reload");
            assertThat(reloaded.status()).as(reloaded.body()).isEqualTo(200);
            assertThat(reloaded.json().path("unchanged").asBoolean()).as(reloaded.body()).isTrue();
            assertThat(reloaded.json().path("notes").toString()).contains("route api: the canary's weights stay");
            assertThat(sluice.admin().get("/config/versions").json().path("current").asInt()).isEqualTo(3);
            assertThat(canaries(sluice).get(0).path("status").asText()).isEqualTo("rolled_back");
            assertStableOnly(sluice);
        }
    }

    @Test
    void aRolledBackCanaryStaysAtZeroOverReloadsUntilResumedOrChanged() throws Exception {
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0);
             TestBackend fixed = backend("canary-fixed", 0);
             InProcessSluice sluice = InProcessSluice.start(config(stable, canary, """
                     backends: [{ cluster: stable, weight: 75 }, { cluster: canary, weight: 25 }]
                     canary: { steps: [25, 50], interval: 10m }""", "access_log: off"), dir,
                     Duration.ofMinutes(10))) {
            Await.until(AWAIT, () -> canaries(sluice).path(0).path("status").asText().equals("running"),
                    "the canary's run started");
            assertThat(sluice.admin().post("/canaries/api/abort").status()).isEqualTo(200);
            assertThat(source(sluice, 2)).startsWith("canary canary aborted on route api by an operator, at 25%");

            // Another change in the file, the canary's as it was: applied with the canary held at 0.
            sluice.writeConfig(config(stable, canary, """
                    backends: [{ cluster: stable, weight: 75 }, { cluster: canary, weight: 25 }]
                    canary: { steps: [25, 50], interval: 10m }""", "access_log: off\n# the file changed elsewhere"));
            AdminHttp.Answer reloaded = sluice.admin().post("/reload");
            assertThat(reloaded.json().path("version").asInt()).as(reloaded.body()).isEqualTo(3);
            assertThat(source(sluice, 3)).contains("canary weights held on route(s) api");
            assertThat(sluice.admin().get("/config").body()).contains("# the file changed elsewhere")
                    .contains("backends: [{ cluster: stable, weight: 100 }, { cluster: canary, weight: 0 }]");
            assertThat(canaries(sluice).get(0).path("status").asText()).isEqualTo("aborted");
            assertThat(canaries(sluice).get(0).path("held_because").asText())
                    .isEqualTo("canary canary aborted on route api by an operator, at 25%");
            assertThat(sent(sluice, 20)).containsOnlyKeys("stable");

            // An operator resumes it: from its first step, recorded as a version.
            String admin = "127.0.0.1:" + sluice.instance().adminAddress().orElseThrow().getPort();
            StringWriter out = new StringWriter();
            assertThat(cli(out, "canary", "resume", "api", "--admin", admin)).as(out.toString()).isZero();
            assertThat(out.toString()).contains("route api: canary canary running, now at 25%; recorded as config "
                    + "version 4");
            assertThat(source(sluice, 4)).isEqualTo("canary canary resumed on route api by an operator, at step 1 (25%)");
            assertThat(sluice.admin().post("/canaries/api/resume").status()).as("running already").isEqualTo(409);
            out = new StringWriter();
            assertThat(cli(out, "versions", "--admin", admin)).as(out.toString()).isZero();
            assertThat(out.toString()).contains("canary canary aborted on route api by an operator, at 25%")
                    .contains("canary weights held on route(s) api")
                    .contains("canary canary resumed on route api by an operator, at step 1 (25%)");
            assertThat(sent(sluice, 40)).containsOnlyKeys("stable", "canary");

            // Aborted again, then a new version behind the canary cluster: a new canary, not held.
            assertThat(sluice.admin().post("/canaries/api/abort").status()).isEqualTo(200);
            sluice.writeConfig(config(stable, fixed, """
                    backends: [{ cluster: stable, weight: 75 }, { cluster: canary, weight: 25 }]
                    canary: { steps: [25, 50], interval: 10m }""", "access_log: off"));
            reloaded = sluice.admin().post("/reload");
            assertThat(reloaded.json().path("notes").toString()).as(reloaded.body())
                    .contains("route api: its canary changed");
            Await.until(AWAIT, () -> canaries(sluice).path(0).path("status").asText().equals("running"),
                    "the new canary's run started");
            assertThat(sent(sluice, 40)).containsOnlyKeys("stable", "canary-fixed");
        }
    }

    @Test
    void aRestartFromTheSameFileKeepsARolledBackCanaryAtZero() throws Exception {
        String yaml;
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0)) {
            yaml = config(stable, canary, """
                    backends: [{ cluster: stable, weight: 75 }, { cluster: canary, weight: 25 }]
                    canary: { steps: [25, 50], interval: 10m }""", "access_log: off");
            JsonNode aborted;
            try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, Duration.ofMinutes(10))) {
                Await.until(AWAIT, () -> canaries(sluice).path(0).path("status").asText().equals("running"),
                        "the canary's run started");
                assertThat(sluice.admin().post("/canaries/api/abort").status()).isEqualTo(200);
                aborted = canaries(sluice).get(0);
            }
            // The same file, the same state directory: the canary stays at 0.
            try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, Duration.ofMinutes(10))) {
                assertThat(sent(sluice, 40)).containsOnlyKeys("stable");
                assertThat(sluice.admin().get("/config").body())
                        .contains("backends: [{ cluster: stable, weight: 100 }, { cluster: canary, weight: 0 }]");
                // The file with the held weights is the abort's version: that one goes on serving.
                assertThat(sluice.admin().get("/config/versions").json().path("current").asInt()).isEqualTo(2);
                assertThat(source(sluice, 2)).isEqualTo("canary canary aborted on route api by an operator, at 25%");
                Await.until(AWAIT, () -> canaries(sluice).size() == 1, "the canary is listed");
                // Shown as it was before the restart: aborted and held, when, why and by which version.
                JsonNode shown = canaries(sluice).get(0);
                assertThat(shown).isEqualTo(aborted);
                assertThat(shown.path("status").asText()).isEqualTo("aborted");
                assertThat(shown.path("ended_at").asText()).isNotEmpty();
                assertThat(shown.path("recorded_version").asInt()).isEqualTo(2);
                assertThat(shown.path("held_because").asText())
                        .isEqualTo("canary canary aborted on route api by an operator, at 25%");
            }
        }
    }

    @Test
    void aCanarysFirstStepStartsWhenTheReloadThatDeploysItIsAppliedNotAtTheNextLook() throws Exception {
        String idle = """
                backends: [{ cluster: stable, weight: 100 }, { cluster: canary, weight: 0 }]
                canary: { steps: [25, 50], interval: 1s }""";
        String deployed = """
                backends: [{ cluster: stable, weight: 75 }, { cluster: canary, weight: 25 }]
                canary: { steps: [25, 50], interval: 1s }""";
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0);
             InProcessSluice sluice = InProcessSluice.start(config(stable, canary, idle, "access_log: off"), dir,
                     Duration.ofMinutes(10))) {
            Await.until(AWAIT, () -> canaries(sluice).path(0).path("status").asText().equals("idle"),
                    "the canary is listed, idle");
            sluice.writeConfig(config(stable, canary, deployed, "access_log: off"));
            AdminHttp.Answer reloaded = sluice.admin().post("/reload");
            assertThat(reloaded.status()).as(reloaded.body()).isEqualTo(200);
            String appliedAt = reloaded.json().path("applied_at").asText();
            assertThat(appliedAt).isEqualTo(appliedAt(sluice, reloaded.json().path("version").asInt()));

            // No traffic: its first judgement rolls it back (no data is no proof), one interval after the reload.
            JsonNode run = Await.value(AWAIT, () -> canaries(sluice).get(0), c -> c.path("status").asText()
                    .equals("rolled_back"), "the canary's first step judged");
            JsonNode first = run.path("judged").get(0);
            assertThat(first.path("started_at").asText()).as("step 1 started when the reload was applied")
                    .isEqualTo(appliedAt);
            assertThat(Instant.parse(first.path("at").asText())).as("and was held its interval from then")
                    .isAfterOrEqualTo(Instant.parse(appliedAt).plusSeconds(1));
            assertThat(first.path("missed").asText()).isEqualTo("min_requests");

            // A resume is a config applied too: its first step starts then.
            AdminHttp.Answer resumed = sluice.admin().post("/canaries/api/resume");
            assertThat(resumed.status()).as(resumed.body()).isEqualTo(200);
            assertThat(resumed.json().path("step_started_at").asText())
                    .isEqualTo(appliedAt(sluice, resumed.json().path("recorded_version").asInt()));
        }
    }

    /** When version {@code n} was applied, as {@code GET /config/versions} says. */
    private static String appliedAt(InProcessSluice sluice, int n) {
        for (JsonNode v : sluice.admin().get("/config/versions").json().path("versions")) {
            if (v.path("version").asInt() == n) {
                return v.path("applied_at").asText();
            }
        }
        throw new AssertionError("no version " + n);
    }

    @Test
    void aGoodCanaryGoesThroughEveryStepToOneHundredPercentByItself() throws Exception {
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0);
             InProcessSluice sluice = InProcessSluice.start(config(stable, canary, GOOD_CANARY.formatted(100, 0),
                     "access_log: off"), dir, Duration.ofMinutes(10))) {
            Clients clients = Clients.start(sluice.listener(), 8, i -> Map.of());
            Await.until(AWAIT, () -> clients.tally().total() >= 200, "the clients are under way");
            deploy(sluice, config(stable, canary, GOOD_CANARY.formatted(80, 20), "access_log: off"));
            JsonNode run = Await.value(AWAIT, () -> canaries(sluice).get(0), c -> !c.path("status").asText()
                    .equals("running"), "the canary's run ended");
            clients.stop();

            assertThat(run.path("status").asText()).as(run.toString()).isEqualTo("promoted");
            assertThat(run.path("weight").asInt()).isEqualTo(100);
            List<Integer> passed = new ArrayList<>();
            run.path("judged").forEach(j -> {
                assertThat(j.path("passed").asBoolean()).as(j.toString()).isTrue();
                passed.add(j.path("weight").asInt());
                // Each step's weight reached the clients: the canary answered some of them in it.
                Clients.Tally inStep = clients.answeredBetween(Instant.parse(j.path("started_at").asText()),
                        Instant.parse(j.path("at").asText()));
                assertThat(inStep.byBackend().getOrDefault("canary", 0L)).as(j.toString()).isPositive();
            });
            assertThat(passed).containsExactly(20, 50);
            assertThat(clients.tally().errors()).isZero();
            int recorded = run.path("recorded_version").asInt();
            assertThat(source(sluice, recorded)).startsWith("canary canary promoted on route api: step 2 of 3 (50%) "
                    + "passed");
            assertThat(sluice.admin().get("/config").body())
                    .contains("backends: [{ cluster: stable, weight: 0 }, { cluster: canary, weight: 100 }]");
            JsonNode route = sluice.admin().get("/status").json().path("routes").get(0);
            assertThat(route.path("backends").toString()).isEqualTo(
                    "[{\"cluster\":\"stable\",\"weight\":0},{\"cluster\":\"canary\",\"weight\":100}]");
            assertThat(route.path("canary").path("status").asText()).isEqualTo("promoted");
            PrometheusText metrics = PrometheusText.parse(sluice.admin().get("/metrics").body());
            assertThat(metrics.value("sluice_route_backend_weight", "route", "api", "cluster", "canary")).isEqualTo(100);
            assertThat(metrics.value("sluice_route_backend_weight", "route", "api", "cluster", "stable")).isZero();
            assertThat(metrics.sum("sluice_requests_total", "route", "api", "cluster", "canary")).isPositive();
            assertThat(metrics.sum("sluice_requests_total", "route", "api", "cluster", "stable")).isPositive();

            assertThat(sent(sluice, 50)).containsOnlyKeys("canary");
            // The file still says 80/20: reloading it keeps the promotion.
            AdminHttp.Answer reloaded = sluice.admin().post("/reload");
            assertThat(reloaded.json().path("unchanged").asBoolean()).as(reloaded.body()).isTrue();
            assertThat(canaries(sluice).get(0).path("status").asText()).isEqualTo("promoted");
            assertThat(sent(sluice, 50)).containsOnlyKeys("canary");
        }
    }

    private static void assertStableOnly(InProcessSluice sluice) throws Exception {
        Clients after = Clients.start(sluice.listener(), 2, i -> Map.of());
        Await.until(AWAIT, () -> after.tally().total() >= 200, "200 requests");
        after.stop();
        assertThat(after.tally().byBackend()).containsOnlyKeys("stable");
        assertThat(after.tally().errors()).isZero();
    }

    /** Version {@code n}'s source in the history: why it was recorded. */
    private static String source(InProcessSluice sluice, int n) {
        for (JsonNode v : sluice.admin().get("/config/versions").json().path("versions")) {
            if (v.path("version").asInt() == n) {
                return v.path("source").asText();
            }
        }
        throw new AssertionError("no version " + n);
    }

    @Test
    void anOperatorPromotesAndAbortsOverTheAdminApi() throws Exception {
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0);
             InProcessSluice sluice = InProcessSluice.start(config(stable, canary, """
                     backends: [{ cluster: stable, weight: 95 }, { cluster: canary, weight: 5 }]
                     canary: { steps: [5, 25, 50], interval: 10m }""", "access_log: off"), dir,
                     Duration.ofMinutes(10))) {
            Await.until(AWAIT, () -> canaries(sluice).size() == 1, "the canary is listed");
            JsonNode running = canaries(sluice).get(0);
            assertThat(running.path("status").asText()).isEqualTo("running");
            assertThat(running.path("step").asInt()).isEqualTo(1);
            assertThat(running.path("weight").asInt()).isEqualTo(5);

            String admin = "127.0.0.1:" + sluice.instance().adminAddress().orElseThrow().getPort();
            StringWriter out = new StringWriter();
            assertThat(cli(out, "canary", "status", "--admin", admin)).isZero();
            assertThat(out.toString()).contains("ROUTE", "api", "canary", "running", "5%", "1/3");

            assertThat(sluice.admin().post("/canaries/nope/promote").status()).isEqualTo(404);
            assertThat(sluice.admin().get("/canaries/api/promote").status()).isEqualTo(405);
            out = new StringWriter();
            assertThat(cli(out, "canary", "promote", "api", "--admin", admin)).as(out.toString()).isZero();
            assertThat(out.toString()).contains("route api: canary canary promoted, now at 100%; recorded as config "
                    + "version 2");
            assertThat(canaries(sluice).get(0).path("status").asText()).isEqualTo("promoted");
            assertThat(sluice.admin().post("/canaries/api/promote").status()).isEqualTo(409);
            assertThat(sluice.admin().get("/config").body())
                    .contains("backends: [{ cluster: stable, weight: 0 }, { cluster: canary, weight: 100 }]");
            assertThat(sent(sluice, 20)).containsOnlyKeys("canary");

            AdminHttp.Answer aborted = sluice.admin().post("/canaries/api/abort");
            assertThat(aborted.status()).as(aborted.body()).isEqualTo(200);
            assertThat(aborted.json().path("status").asText()).isEqualTo("aborted");
            assertThat(sluice.admin().get("/config").body())
                    .contains("backends: [{ cluster: stable, weight: 100 }, { cluster: canary, weight: 0 }]");
            assertThat(sluice.admin().get("/config/versions").json().path("current").asInt()).isEqualTo(3);
            assertThat(sent(sluice, 20)).containsOnlyKeys("stable");
            assertThat(sluice.admin().post("/canaries/api/abort").status()).isEqualTo(409);
            assertThat(sluice.admin().get("/incidents").json().path("open")).as("an operator's abort is no incident")
                    .isEmpty();
        }
    }

    @Test
    void oncePromotedTheStableIsPointedAtTheNewVersionAndTakesEverythingAgain() throws Exception {
        String deployed = """
                backends: [{ cluster: stable, weight: 95 }, { cluster: canary, weight: 5 }]
                canary: { steps: [5, 50], interval: 10m }""";
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0);
             InProcessSluice sluice = InProcessSluice.start(config(stable, canary, deployed, "access_log: off"), dir,
                     Duration.ofMinutes(10))) {
            Await.until(AWAIT, () -> canaries(sluice).path(0).path("status").asText().equals("running"),
                    "the canary's run started");
            assertThat(sluice.admin().post("/canaries/api/promote").status()).isEqualTo(200);
            // The file that started the run, reloaded: the promotion is held.
            assertThat(sluice.admin().post("/reload").json().path("unchanged").asBoolean()).isTrue();
            assertThat(sent(sluice, 20)).containsOnlyKeys("canary");
            StringWriter out = new StringWriter();
            assertThat(cli(out, "canary", "status", "api", "--admin", "127.0.0.1:"
                    + sluice.instance().adminAddress().orElseThrow().getPort())).isZero();
            assertThat(out.toString()).containsPattern("\\napi +canary +promoted \\(held\\) +100% ")
                    .contains("\n  held at 100% over reloads and restarts; a config that sets the canary to 0 (the stable "
                            + "pointed at the new version), or a changed canary, ends it\n");

            // The stable now runs the new version (here: the canary's backend) and the file gives it
            // everything: applied as written, the hold ended.
            sluice.writeConfig(config(canary, canary, """
                    backends: [{ cluster: stable, weight: 100 }, { cluster: canary, weight: 0 }]
                    canary: { steps: [5, 50], interval: 10m }""", "access_log: off"));
            AdminHttp.Answer reloaded = sluice.admin().post("/reload");
            assertThat(reloaded.status()).as(reloaded.body()).isEqualTo(200);
            assertThat(reloaded.json().path("notes").toString()).as(reloaded.body()).contains("route api: the config "
                    + "sets its canary to 0% itself, so the weights held since \\\"canary canary promoted on route api "
                    + "by an operator, at 5%\\\" are released");
            assertThat(sluice.admin().get("/config").body())
                    .contains("backends: [{ cluster: stable, weight: 100 }, { cluster: canary, weight: 0 }]");
            Await.until(AWAIT, () -> canaries(sluice).path(0).path("status").asText().equals("idle"),
                    "the canary is idle");
            assertThat(canaries(sluice).get(0).has("held_because")).isFalse();
            assertThat(sluice.admin().get("/status").json().path("routes").get(0).path("backends").toString())
                    .isEqualTo("[{\"cluster\":\"stable\",\"weight\":100},{\"cluster\":\"canary\",\"weight\":0}]");
            assertThat(sent(sluice, 20)).as("the new version, through the stable").containsOnlyKeys("canary");
        }
    }

    @Test
    void anOperatorsCommandOnAnUnknownRouteOrOneWithoutACanarySaysWhichRoutesHaveOne() throws Exception {
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0);
             InProcessSluice sluice = InProcessSluice.start("""
                     listeners:
                       - address: 127.0.0.1:0
                     routes:
                       - name: web/static
                         match: { path_prefix: /static/ }
                         cluster: stable
                       - name: api
                         match: { path_prefix: / }
                         backends: [{ cluster: stable, weight: 95 }, { cluster: canary, weight: 5 }]
                         canary: { steps: [5, 50], interval: 10m }
                     clusters:
                       - name: stable
                         endpoints: [127.0.0.1:%d]
                       - name: canary
                         endpoints: [127.0.0.1:%d]
                     admin:
                       address: 127.0.0.1:0
                     access_log: off
                     """.formatted(stable.port(), canary.port()), dir, Duration.ofMinutes(10))) {
            Await.until(AWAIT, () -> canaries(sluice).size() == 1, "the canary is listed");
            AdminHttp.Answer unknown = sluice.admin().post("/canaries/nope/abort");
            assertThat(unknown.status()).isEqualTo(404);
            assertThat(unknown.json().path("reason").asText()).isEqualTo("no route 'nope'; canary routes: [api]");
            // A name with a '/' in it, sent as %2F.
            AdminHttp.Answer plain = sluice.admin().post("/canaries/web%2Fstatic/promote");
            assertThat(plain.status()).isEqualTo(404);
            assertThat(plain.json().path("reason").asText())
                    .isEqualTo("route 'web/static' has no canary (no `canary:` on its backends); canary routes: [api]");

            String admin = "127.0.0.1:" + sluice.instance().adminAddress().orElseThrow().getPort();
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            assertThat(cli(out, err, "canary", "promote", "web/static", "--admin", admin)).isEqualTo(1);
            assertThat(err.toString()).isEqualTo("sluice: canary promote refused (404): route 'web/static' has no canary "
                    + "(no `canary:` on its backends); canary routes: [api]\n");
            err = new StringWriter();
            assertThat(cli(out, err, "canary", "abort", "--admin", admin)).isEqualTo(2);
            assertThat(err.toString()).isEqualTo("sluice: canary abort needs the canary's ROUTE: sluice canary abort "
                    + "ROUTE (see sluice canary status)\n");
            err = new StringWriter();
            assertThat(cli(out, err, "canary", "rollback", "api", "--admin", admin)).isEqualTo(2);
            assertThat(err.toString()).startsWith("sluice: unknown canary action 'rollback'; usage: sluice canary "
                    + "status [ROUTE] | promote ROUTE");
            err = new StringWriter();
            assertThat(cli(out, err, "canary", "status", "nope", "--admin", admin)).isEqualTo(1);
            assertThat(err.toString()).isEqualTo("sluice: no canary on route 'nope'; canary routes: [api]\n");
            assertThat(out.toString()).isEmpty();

            assertThat(cli(out, err, "canary", "status", "api", "--admin", admin)).isZero();
            assertThat(out.toString()).containsPattern("\\napi +canary +running +5% +1/2 +[0-9]+\\.[0-9]s +- *\\n");
            AdminHttp.Answer one = sluice.admin().get("/canaries/api");
            assertThat(one.status()).isEqualTo(200);
            assertThat(one.json()).isEqualTo(canaries(sluice).get(0));
            AdminHttp.Answer none = sluice.admin().get("/canaries/web%2Fstatic");
            assertThat(none.status()).isEqualTo(404);
            assertThat(none.json().path("reason").asText())
                    .isEqualTo("no canary on route 'web/static'; canary routes: [api]");
            assertThat(sluice.admin().post("/canaries/api").status()).isEqualTo(405);
            assertThat(sluice.admin().get("/canaries").json().path("canaries")).as("nothing changed").hasSize(1);
            assertThat(canaries(sluice).get(0).path("status").asText()).isEqualTo("running");
        }
    }

    @Test
    void aStickyHeaderKeepsEachUserOnOneBackendAndTheAccessLogNamesIt() throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0);
             InProcessSluice sluice = InProcessSluice.start(config(stable, canary, """
                     backends: [{ cluster: stable, weight: 50 }, { cluster: canary, weight: 50 }]
                     sticky: { header: x-user }""", "access_log: { path: " + log + " }"), dir,
                     Duration.ofMinutes(10))) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            Map<String, Set<String>> backendsOfUser = new HashMap<>();
            for (int user = 0; user < 20; user++) {
                for (int i = 0; i < 5; i++) {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(sluice, "/u" + user))
                            .header("x-user", "user-" + user).GET().build(), HttpResponse.BodyHandlers.ofString());
                    backendsOfUser.computeIfAbsent("user-" + user, u -> new HashSet<>()).add(r.body());
                }
            }
            assertThat(backendsOfUser.values()).allSatisfy(b -> assertThat(b).hasSize(1));
            Set<String> used = new HashSet<>();
            backendsOfUser.values().forEach(used::addAll);
            assertThat(used).as("20 users at 50/50 land on both").containsExactlyInAnyOrder("stable", "canary");

            String user0 = backendsOfUser.get("user-0").iterator().next();
            Await.until(AWAIT, () -> lines(log).stream().filter(l -> l.contains("/u0")).count() == 5,
                    "user-0's requests are logged");
            assertThat(lines(log).stream().filter(l -> l.contains("\"/u0\"")).toList())
                    .allSatisfy(l -> assertThat(l).contains("\"cluster\":\"" + user0 + "\""));
        }
    }

    @Test
    void aStickyCookieKeepsEachUserOnOneBackend() throws Exception {
        try (TestBackend stable = backend("stable", 0);
             TestBackend canary = backend("canary", 0);
             InProcessSluice sluice = InProcessSluice.start(config(stable, canary, """
                     backends: [{ cluster: stable, weight: 50 }, { cluster: canary, weight: 50 }]
                     sticky: { cookie: session }""", "access_log: off"), dir, Duration.ofMinutes(10))) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            Map<String, Set<String>> backendsOfUser = new HashMap<>();
            for (int user = 0; user < 20; user++) {
                for (int i = 0; i < 5; i++) {
                    // The application's own cookie among others, as a browser sends it.
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(sluice, "/u" + user))
                            .header("cookie", "theme=dark; session=s-" + user + "; lang=en").GET().build(),
                            HttpResponse.BodyHandlers.ofString());
                    backendsOfUser.computeIfAbsent("s-" + user, u -> new HashSet<>()).add(r.body());
                }
            }
            assertThat(backendsOfUser.values()).allSatisfy(b -> assertThat(b).hasSize(1));
            Set<String> used = new HashSet<>();
            backendsOfUser.values().forEach(used::addAll);
            assertThat(used).as("20 sessions at 50/50 land on both").containsExactlyInAnyOrder("stable", "canary");
        }
    }

    /** {@code sluice ARGS} in this JVM: its exit code; what it printed goes to {@code out}. */
    private static int cli(StringWriter out, String... args) {
        return cli(out, new StringWriter(), args);
    }

    /** {@code sluice ARGS} in this JVM: its exit code; what it printed goes to {@code out}, its errors to {@code err}. */
    private static int cli(StringWriter out, StringWriter err, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true));
        System.setErr(new PrintStream(said, true));
        try {
            return new CommandLine(new Sluice()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            out.write(printed.toString());
            err.write(said.toString());
        }
    }

    private static List<String> lines(Path log) {
        try {
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static URI uri(InProcessSluice sluice, String path) {
        return URI.create("http://127.0.0.1:" + sluice.listener().getPort() + path);
    }

    /** {@code n} GETs one after the other: how many each backend answered. */
    private static Map<String, Integer> sent(InProcessSluice sluice, int n) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Map<String, Integer> by = new HashMap<>();
        for (int i = 0; i < n; i++) {
            by.merge(http.send(HttpRequest.newBuilder(uri(sluice, "/x")).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body(), 1, Integer::sum);
        }
        return by;
    }

    private static JsonNode canaries(InProcessSluice sluice) {
        return sluice.admin().get("/canaries").json().path("canaries");
    }

    /** Clients POSTing back to back, each on its own virtual thread, counting answers by backend and status. */
    private static final class Clients {
        record Tally(long total, long errors, Map<String, Long> byBackend, Map<String, Long> errorsFrom) {
        }

        /** One answer as its client got it. */
        record Answer(Instant at, int status, String backend) {}

        private final List<Thread> threads = new ArrayList<>();
        private final java.util.Queue<Answer> answers = new java.util.concurrent.ConcurrentLinkedQueue<>();
        private final Map<String, LongAdder> byBackend = new ConcurrentHashMap<>();
        private final Map<String, LongAdder> errorsFrom = new ConcurrentHashMap<>();
        private final LongAdder total = new LongAdder();
        private final LongAdder errors = new LongAdder();
        private volatile boolean stopped;

        static Clients start(InetSocketAddress target, int n, java.util.function.IntFunction<Map<String, String>> headers) {
            Clients clients = new Clients();
            URI uri = URI.create("http://127.0.0.1:" + target.getPort() + "/orders");
            for (int i = 0; i < n; i++) {
                Map<String, String> fields = headers.apply(i);
                clients.threads.add(Thread.ofVirtual().start(() -> clients.run(uri, fields)));
            }
            return clients;
        }

        private void run(URI uri, Map<String, String> fields) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            while (!stopped) {
                HttpRequest.Builder request = HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString("{}"));
                fields.forEach(request::header);
                try {
                    HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                    answers.add(new Answer(Instant.now(), r.statusCode(), r.body()));
                    total.increment();
                    byBackend.computeIfAbsent(r.body(), b -> new LongAdder()).increment();
                    if (r.statusCode() >= 500) {
                        errors.increment();
                        errorsFrom.computeIfAbsent(r.body(), b -> new LongAdder()).increment();
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        Tally tally() {
            Map<String, Long> backends = new HashMap<>();
            byBackend.forEach((b, n) -> backends.put(b, n.sum()));
            Map<String, Long> failing = new HashMap<>();
            errorsFrom.forEach((b, n) -> failing.put(b, n.sum()));
            return new Tally(total.sum(), errors.sum(), backends, failing);
        }

        /** The answers that reached their clients between {@code from} and {@code to}. */
        Tally answeredBetween(Instant from, Instant to) {
            long n = 0;
            long failed = 0;
            Map<String, Long> backends = new HashMap<>();
            Map<String, Long> failing = new HashMap<>();
            for (Answer a : answers) {
                if (a.at().isBefore(from) || a.at().isAfter(to)) {
                    continue;
                }
                n++;
                backends.merge(a.backend(), 1L, Long::sum);
                if (a.status() >= 500) {
                    failed++;
                    failing.merge(a.backend(), 1L, Long::sum);
                }
            }
            return new Tally(n, failed, backends, failing);
        }

        void stop() throws InterruptedException {
            stopped = true;
            for (Thread t : threads) {
                t.join();
            }
        }
    }
}
