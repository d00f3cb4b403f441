package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.testing.Await;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clusters backed by apps Sluice runs ({@code clusters[].app}), with real WSGI servers from
 * Debian's packages (gunicorn; uwsgi with its python3 plugin) running {@code src/test/python/tinyapp.py}.
 * A start is counted by the app itself: with {@code --preload} the server's master imports it once
 * per start and appends a line to {@code TINYAPP_STARTS}.
 */
class OnDemandAppsTest {
    private static final Duration AWAIT = Duration.ofSeconds(30);
    private static final Duration LONG_BAKE = Duration.ofMinutes(10);
    private static final Path PYTHON = Path.of("src/test/python").toAbsolutePath();

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    /** gunicorn with two sync workers, the app imported once per start by the master. */
    private static String gunicorn(String... extra) {
        List<String> argv = new ArrayList<>(List.of("gunicorn", "--workers", "2", "--preload", "--bind",
                "127.0.0.1:{port}", "--chdir", PYTHON.toString()));
        argv.addAll(List.of(extra));
        argv.add("tinyapp:app");
        return yamlList(argv);
    }

    /** uwsgi with its python3 plugin, two processes and a master; SIGTERM stops it (uwsgi's default is a reload). */
    private static String uwsgi() {
        return yamlList(List.of("uwsgi", "--plugin", "python3", "--http-socket", "127.0.0.1:{port}", "--chdir",
                PYTHON.toString(), "--wsgi-file", "tinyapp.py", "--master", "--processes", "2", "--die-on-term",
                "--need-app", "--disable-logging"));
    }

    private static String yamlList(List<String> items) {
        return items.stream().map(s -> "\"" + s + "\"").collect(java.util.stream.Collectors.joining(", ", "[", "]"));
    }

    /** One listener and admin API on free ports, a route per cluster ({@code /NAME/...}), the clusters given. */
    private String config(String server, String... clusters) {
        StringBuilder routes = new StringBuilder();
        StringBuilder defined = new StringBuilder();
        for (String cluster : clusters) {
            String name = cluster.lines().findFirst().orElseThrow().trim();
            routes.append("  - match: { path_prefix: /").append(name).append("/ }\n")
                    .append("    strip_prefix: true\n")
                    .append("    cluster: ").append(name).append("\n");
            defined.append("  - name: ").append(cluster.stripLeading()).append("\n");
        }
        return server + """
                listeners:
                  - address: 127.0.0.1:0
                admin: { address: 127.0.0.1:0 }
                access_log: { path: %s }
                drain: { delay: 0s }
                routes:
                %sclusters:
                %s""".formatted(dir.resolve("access.log"), routes, defined);
    }

    private String starts(String app) {
        return dir.resolve(app + ".starts").toString();
    }

    private List<String> startLines(String app) throws IOException {
        Path file = Path.of(starts(app));
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }

    private CompletableFuture<HttpResponse<String>> get(InProcessSluice sluice, String path) {
        return get(sluice.listener().getPort(), path);
    }

    private CompletableFuture<HttpResponse<String>> get(int port, String path) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode app(AdminHttp admin, String name) {
        for (JsonNode app : admin.get("/apps").json().path("apps")) {
            if (app.path("name").asText().equals(name)) {
                return app;
            }
        }
        throw new AssertionError("no app " + name + " in " + admin.get("/apps").body());
    }

    @Test
    void twoHundredConcurrentRequestsToAStoppedAppStartItOnceAndAreAllServed() throws Exception {
        String yaml = config("", """
                blog
                    app:
                      command: %s
                      env: { TINYAPP_STARTS: "%s" }
                      ready: { path: /healthz, timeout: 30s }
                """.formatted(gunicorn(), starts("blog")));
        try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, LONG_BAKE)) {
            assertThat(app(sluice.admin(), "blog").path("state").asText()).isEqualTo("stopped");

            List<CompletableFuture<HttpResponse<String>>> responses = IntStream.range(0, 200)
                    .mapToObj(i -> get(sluice, "/blog/hello?n=" + i)).toList();
            CompletableFuture.allOf(responses.toArray(CompletableFuture[]::new)).get(AWAIT.toSeconds() * 2,
                    java.util.concurrent.TimeUnit.SECONDS);

            assertThat(responses).allSatisfy(r -> {
                assertThat(r.get().statusCode()).as(r.get().body()).isEqualTo(200);
                assertThat(r.get().body()).startsWith("hello from tinyapp");
            });
            assertThat(startLines("blog")).as("the app's own count of its starts").hasSize(1);
            JsonNode app = app(sluice.admin(), "blog");
            assertThat(app.path("state").asText()).isEqualTo("ready");
            assertThat(app.path("starts").asInt()).isEqualTo(1);
            assertThat(app.path("pid").asLong()).isPositive();
        }
    }

    @Test
    void heldRequestsReachTheAppInTheOrderTheyArrived() throws Exception {
        // One event loop and one request at a time to the app: the order it serves is the order they left the hold queue.
        String yaml = config("server: { event_loop_threads: 1 }\n", """
                blog
                    concurrency: { limit: 1, queue: 100, queue_timeout: 30s }
                    app:
                      command: %s
                      env: { TINYAPP_SEEN: "%s", TINYAPP_SLOW_START: "3" }
                      ready: { path: /healthz }
                """.formatted(gunicorn(), dir.resolve("seen")));
        try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, LONG_BAKE)) {
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                responses.add(get(sluice, "/blog/hello?n=" + i));
                int held = i + 1;
                // The next one leaves only once this one is in the hold queue: a known order of arrival.
                Await.until(AWAIT, () -> app(sluice.admin(), "blog").path("held").asInt() == held,
                        () -> held + " held: " + sluice.admin().get("/apps").body());
            }
            for (CompletableFuture<HttpResponse<String>> r : responses) {
                assertThat(r.get().statusCode()).isEqualTo(200);
            }
            assertThat(Files.readAllLines(dir.resolve("seen")))
                    .containsExactly(IntStream.range(0, 10).mapToObj(i -> "n=" + i).toArray(String[]::new));
        }
    }

    @Test
    void anAppThatExitsAtOnceIsStartedOnlyAsTheBackoffAllowsAndRequestsAreRefusedFastWithTheKind() throws Exception {
        // The app itself, exiting with 3 as soon as it is imported: a crash loop at its fastest.
        String yaml = config("", """
                crashy
                    app:
                      command: ["/usr/bin/python3", "%s"]
                      env: { TINYAPP_STARTS: "%s", TINYAPP_EXIT: "3" }
                      backoff: { first: 200ms, max: 800ms }
                """.formatted(PYTHON.resolve("tinyapp.py"), starts("crashy")));
        try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, LONG_BAKE)) {
            long began = System.nanoTime();
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            Map<String, AtomicInteger> kinds = new ConcurrentHashMap<>();
            int sent = 0;
            while (System.nanoTime() - began < Duration.ofMillis(3000).toNanos()) {
                HttpResponse<String> r = get(sluice, "/crashy/").get();
                sent++;
                statuses.computeIfAbsent(r.statusCode(), s -> new AtomicInteger()).incrementAndGet();
                kinds.computeIfAbsent(r.headers().firstValue("x-sluice-error").orElse("none"), k -> new AtomicInteger())
                        .incrementAndGet();
                assertThat(r.headers().firstValue("retry-after")).as("Retry-After").isPresent();
                Thread.sleep(10);
            }

            assertThat(statuses.keySet()).containsOnly(503);
            assertThat(kinds.keySet()).containsOnly("app_crash_loop");
            // Each start is recorded by the app as it begins; the next can begin only the backoff after it exited.
            List<Double> startTimes = startLines("crashy").stream().map(l -> Double.parseDouble(l.split(" ")[0])).toList();
            assertThat(startTimes).as("starts").hasSizeGreaterThanOrEqualTo(3);
            for (int k = 1; k < startTimes.size(); k++) {
                double backoff = Math.min(0.8, 0.2 * Math.pow(2, k - 1));
                assertThat(startTimes.get(k) - startTimes.get(k - 1)).as("gap before start %d of %s", k + 1, startTimes)
                        .isGreaterThanOrEqualTo(backoff);
            }
            // Refused without a start: a "start on 502" gateway would have made one per request.
            assertThat(sent).isGreaterThan(startTimes.size() * 3);

            JsonNode status = sluice.admin().get("/status").json();
            JsonNode app = status.path("apps").get(0);
            assertThat(app.path("state").asText()).isEqualTo("crash_loop");
            assertThat(app.path("exit_code").asInt()).isEqualTo(3);
            assertThat(app.path("starts").asInt()).isEqualTo(startTimes.size());
            assertThat(app.path("last_lines").toString()).contains("exiting at once");
            assertThat(sluice.admin().get("/metrics").body()).contains("sluice_app_crash_loop{cluster=\"crashy\"} 1.0");
            Await.until(AWAIT, () -> accessLog().contains("\"failure\":\"app_crash_loop\""), "the kind in the access log");
        }
    }

    private String accessLog() {
        try {
            return Files.exists(dir.resolve("access.log")) ? Files.readString(dir.resolve("access.log")) : "";
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aRunningAppAnswering502Or503IsPassedOnAndNeverStartedAgain() throws Exception {
        String yaml = config("", """
                blog
                    app:
                      command: %s
                      env: { TINYAPP_STARTS: "%s" }
                      ready: { path: /healthz }
                """.formatted(gunicorn(), starts("blog")));
        try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, LONG_BAKE)) {
            assertThat(get(sluice, "/blog/").get().statusCode()).isEqualTo(200);
            for (int i = 0; i < 30; i++) {
                HttpResponse<String> r = get(sluice, "/blog/status/" + (i % 2 == 0 ? "502" : "503")).get();
                assertThat(r.statusCode()).isEqualTo(i % 2 == 0 ? 502 : 503);
                assertThat(r.body()).startsWith("answered");
                assertThat(r.headers().firstValue("x-sluice-error")).isEmpty();
            }
            assertThat(startLines("blog")).hasSize(1);
            assertThat(app(sluice.admin(), "blog").path("starts").asInt()).isEqualTo(1);
        }
    }

    @Test
    void theAdminApiListsStartsStopsAndRestartsApps() throws Exception {
        String yaml = config("", """
                blog
                    app:
                      command: %s
                      ready: { path: /healthz }
                      stop_grace: 3s
                """.formatted(uwsgi()));
        try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, LONG_BAKE)) {
            AdminHttp admin = sluice.admin();
            assertThat(admin.post("/apps/blog/start").status()).isEqualTo(200);
            Await.until(AWAIT, () -> app(admin, "blog").path("state").asText().equals("ready"), "blog ready");
            long first = app(admin, "blog").path("pid").asLong();
            assertThat(processGroup(first)).isNotEmpty();
            assertThat(get(sluice, "/blog/").get().body()).startsWith("hello from tinyapp");

            AdminHttp.Answer restarted = admin.post("/apps/blog/restart");
            assertThat(restarted.status()).isEqualTo(200);
            Await.until(AWAIT, () -> app(admin, "blog").path("state").asText().equals("ready"), "blog ready again");
            long second = app(admin, "blog").path("pid").asLong();
            assertThat(second).isNotEqualTo(first);
            assertThat(processGroup(first)).as("the first run's processes").isEmpty();

            AdminHttp.Answer stopped = admin.post("/apps/blog/stop");
            assertThat(stopped.json().path("state").asText()).isEqualTo("stopped");
            assertThat(processGroup(second)).isEmpty();
            assertThat(app(admin, "blog").path("starts").asInt()).isEqualTo(2);

            assertThat(admin.post("/apps/nope/start").status()).isEqualTo(404);
            assertThat(admin.get("/apps/blog/start").status()).isEqualTo(405);
            HttpResponse<String> unguarded = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + sluice.instance().adminAddress().orElseThrow().getPort() + "/apps/blog/start"))
                    .header("Origin", "http://evil.example").POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(unguarded.statusCode()).as("a cross-site POST is refused by the admin guard").isEqualTo(403);
            assertThat(app(admin, "blog").path("state").asText()).isEqualTo("stopped");
        }
    }

    @Test
    void noAppProcessOutlivesAnIdleStopATermOrAKilledSluice() throws Exception {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, config("", """
                blog
                    app:
                      command: %s
                      ready: { path: /healthz }
                      idle_stop: 1s
                      stop_grace: 5s
                """.formatted(gunicorn())));
        String[] run = {"run", "-c", file.toString(), "--state-dir", dir.resolve("state").toString()};

        try (ChildSluice sluice = ChildSluice.start(dir, run)) {
            int port = sluice.awaitStarted(AWAIT).getPort();
            long idle = startAndFindGroup(sluice, port);
            Await.until(AWAIT, () -> processGroup(idle).isEmpty(), () -> "the idle app's processes gone: " + processGroup(idle));
            assertThat(app(sluice.admin(), "blog").path("state").asText()).isEqualTo("stopped");

            long running = startAndFindGroup(sluice, port);
            sluice.terminate();
            assertThat(sluice.awaitExit(AWAIT)).isZero();
            assertThat(processGroup(running)).as("app processes after SIGTERM to Sluice").isEmpty();
        }

        long orphaned;
        try (ChildSluice killed = ChildSluice.start(dir, run)) {
            int port = killed.awaitStarted(AWAIT).getPort();
            orphaned = startAndFindGroup(killed, port);
            killed.signal("KILL");
            killed.awaitExit(AWAIT);
            assertThat(processGroup(orphaned)).as("a killed Sluice cannot stop its app").isNotEmpty();
        }
        try (ChildSluice next = ChildSluice.start(dir, run)) {
            next.awaitStarted(AWAIT);
            assertThat(processGroup(orphaned)).as("reaped by the next start, before it listens").isEmpty();
            next.terminate();
            next.awaitExit(AWAIT);
        }
    }

    @Test
    void theOutageReplayedAFloodedAppIsStartedOnceAndShedWhileAnotherAppServesEverything() throws Exception {
        // App A: two gunicorn workers with a small listen backlog, 100 ms a request: ~20 requests a second.
        String yaml = config("", """
                a
                    concurrency: { limit: 4, queue: 20, queue_timeout: 300ms }
                    app:
                      command: %s
                      env: { TINYAPP_STARTS: "%s" }
                      ready: { path: /healthz }
                      hold: { max: 50, timeout: 10s }
                """.formatted(gunicorn("--backlog", "4"), starts("a")), """
                b
                    app:
                      command: %s
                      env: { TINYAPP_STARTS: "%s" }
                      ready: { path: /healthz }
                """.formatted(uwsgi(), starts("b")));
        try (InProcessSluice sluice = InProcessSluice.start(yaml, dir, LONG_BAKE)) {
            int port = sluice.listener().getPort();
            assertThat(get(port, "/b/").get().statusCode()).isEqualTo(200);
            Map<String, AtomicInteger> aOutcomes = new ConcurrentHashMap<>();
            Map<String, AtomicInteger> bOutcomes = new ConcurrentHashMap<>();
            long until = System.nanoTime() + Duration.ofSeconds(4).toNanos();
            List<Thread> clients = new ArrayList<>();
            // Far past A's capacity from its first (cold) second: 80 clients, each asking again 50 ms after
            // a refusal (up to 1600 requests a second; a pause so this shared test machine's CPU is not the limit).
            HttpClient flood = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            for (int i = 0; i < 80; i++) {
                clients.add(Thread.ofVirtual().start(() -> loop(flood, port, "/a/sleep?ms=100", until, aOutcomes, 50)));
            }
            for (int i = 0; i < 2; i++) {
                clients.add(Thread.ofVirtual().start(() -> loop(http, port, "/b/hello", until, bOutcomes, 0)));
            }
            for (Thread t : clients) {
                t.join();
            }

            assertThat(startLines("a")).as("A's starts, with %s", aOutcomes).hasSize(1);
            assertThat(app(sluice.admin(), "a").path("starts").asInt()).isEqualTo(1);
            assertThat(aOutcomes.keySet()).as("A's outcomes").contains("200", "503 overloaded")
                    .allMatch(o -> o.equals("200") || o.equals("503 overloaded") || o.equals("503 app_starting_timeout")
                            || o.equals("503 connect_backlog_full"));
            assertThat(bOutcomes.keySet()).as("B's outcomes, with A flooded").containsOnly("200");
            assertThat(bOutcomes.get("200").get()).isGreaterThan(10);
            assertThat(startLines("b")).hasSize(1);
        }
    }

    /** GETs {@code path} until {@code until}, counting "STATUS KIND" outcomes. */
    private static void loop(HttpClient client, int port, String path, long until, Map<String, AtomicInteger> outcomes,
                             long pauseAfterRefusalMillis) {
        while (System.nanoTime() < until) {
            String outcome;
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
                outcome = r.statusCode() + r.headers().firstValue("x-sluice-error").map(k -> " " + k).orElse("");
            } catch (IOException e) {
                outcome = "exception " + e.getClass().getSimpleName();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            outcomes.computeIfAbsent(outcome, o -> new AtomicInteger()).incrementAndGet();
            if (!outcome.equals("200") && pauseAfterRefusalMillis > 0) {
                try {
                    Thread.sleep(pauseAfterRefusalMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Test
    void aReloadKeepsAnUnchangedAppAndReplacesAChangedOneWithoutFailingARequest() throws Exception {
        String app = """
                blog
                    app:
                      command: %s
                      env: { TINYAPP_STARTS: "%s", VERSION: "%s" }
                      ready: { path: /healthz }
                """;
        String other = """
                other
                    app: { command: %s }
                """.formatted(uwsgi());
        try (InProcessSluice sluice = InProcessSluice.start(config("", app.formatted(gunicorn(), starts("blog"), "1")),
                dir, LONG_BAKE)) {
            assertThat(get(sluice, "/blog/").get().statusCode()).isEqualTo(200);
            long first = app(sluice.admin(), "blog").path("pid").asLong();

            sluice.writeConfig(config("", app.formatted(gunicorn(), starts("blog"), "1"), other));
            assertThat(sluice.admin().post("/reload").status()).isEqualTo(200);
            assertThat(app(sluice.admin(), "blog").path("pid").asLong()).as("unchanged: the same process").isEqualTo(first);

            SteadyLoad load = SteadyLoad.start(sluice.listener(), 4, "/blog/hello");
            long seen = load.responses();
            Await.until(AWAIT, () -> load.responses() > seen + 20, "requests before the change");
            sluice.writeConfig(config("", app.formatted(gunicorn(), starts("blog"), "2"), other));
            assertThat(sluice.admin().post("/reload").status()).isEqualTo(200);
            long second = app(sluice.admin(), "blog").path("pid").asLong();
            long after = load.responses();
            Await.until(AWAIT, () -> load.responses() > after + 20, "requests after the change");
            load.stop();

            assertThat(second).as("changed: a new process").isNotEqualTo(first);
            assertThat(app(sluice.admin(), "blog").path("state").asText()).isEqualTo("ready");
            Await.until(AWAIT, () -> processGroup(first).isEmpty(), "the old app stopped");
            assertThat(load.failures()).isEmpty();
            assertThat(load.non200()).isEmpty();
            assertThat(startLines("blog")).hasSize(2);
        }
    }

    @Test
    void aChangedAppThatNeverBecomesReadyRefusesTheReloadAndTheRunningOneKeepsServing() throws Exception {
        String app = """
                blog
                    app:
                      command: %s
                      env: { TINYAPP_STARTS: "%s", VERSION: "%s" }
                      ready: { path: %s, timeout: 2s }
                """;
        try (InProcessSluice sluice = InProcessSluice.start(config("", app.formatted(gunicorn(), starts("blog"), "1",
                "/healthz")), dir, LONG_BAKE)) {
            assertThat(get(sluice, "/blog/").get().statusCode()).isEqualTo(200);
            long first = app(sluice.admin(), "blog").path("pid").asLong();

            // The new version starts, but its readiness check answers 503 for ever.
            sluice.writeConfig(config("", app.formatted(gunicorn(), starts("blog"), "2", "/status/503")));
            AdminHttp.Answer refused = sluice.admin().post("/reload");
            assertThat(refused.status()).isEqualTo(409);
            assertThat(refused.body()).contains("app blog: the changed app did not become ready within its ready.timeout")
                    .contains("keeps serving");

            assertThat(app(sluice.admin(), "blog").path("pid").asLong()).as("the running app kept").isEqualTo(first);
            HttpResponse<String> after = get(sluice, "/blog/").get();
            assertThat(after.statusCode()).isEqualTo(200);
            List<String> starts = startLines("blog");
            assertThat(starts).as("the replacement was started once").hasSize(2);
            long replacement = Long.parseLong(starts.get(1).split(" ")[1]);
            Await.until(AWAIT, () -> processGroup(replacement).isEmpty(), "the replacement stopped");
            assertThat(processGroup(first)).as("the running app's processes").isNotEmpty();
        }
    }

    /** Starts the app with a request; its process group (master and workers, found by its pid), all alive. */
    private long startAndFindGroup(ChildSluice sluice, int port) throws Exception {
        HttpResponse<String> worker = get(port, "/blog/pid").get();
        assertThat(worker.statusCode()).isEqualTo(200);
        long pid = processGroupOf(Long.parseLong(worker.body().strip()));
        assertThat(pid).as("the app leads a process group of its own").isNotEqualTo(ProcessHandle.current().pid())
                .isGreaterThan(1);
        // gunicorn's master and its two workers.
        Await.until(AWAIT, () -> processGroup(pid).size() >= 3, () -> "the app's processes: " + processGroup(pid));
        return pid;
    }

    private static long processGroupOf(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[2]);
    }

    /** The pids in process group {@code group} now (an app's run: its master and workers). */
    static List<Long> processGroup(long group) {
        List<Long> pids = new ArrayList<>();
        try (var entries = Files.list(Path.of("/proc"))) {
            for (Path p : entries.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    // A zombie (state Z) is already dead, waiting for its parent to read its status.
                    if (Long.parseLong(fields[2]) == group && !fields[0].equals("Z")) {
                        pids.add(Long.parseLong(name));
                    }
                } catch (IOException | RuntimeException gone) {
                    // Exited while listed.
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return pids;
    }
}
