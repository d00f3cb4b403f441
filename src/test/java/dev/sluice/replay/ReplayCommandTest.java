package dev.sluice.replay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.Sluice;
import dev.sluice.server.TestGateway;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandler;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.Ports;
import dev.sluice.testing.RecordedRequest;
import dev.sluice.testing.TestBackend;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code sluice replay}, end to end on real sockets: recordings written from a real backend's
 * answers, replayed through the command line against the same backend, a changed one, a dead one.
 */
class ReplayCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
        JsonNode json() throws Exception {
            return JSON.readTree(out);
        }
    }

    private static Run replay(Object... args) {
        List<String> all = new ArrayList<>(List.of("replay"));
        Stream.of(args).map(String::valueOf).forEach(all::add);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = new CommandLine(new Sluice()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    private record Answer(int status, String body) {}

    /** A small shop: items and users by id, a search, orders; {@code usersStatus} and {@code itemsVersion} change it. */
    private static Answer shopAnswer(String method, String uri, String body, int usersStatus, String itemsVersion) {
        if (uri.startsWith("/items/")) {
            return new Answer(200, "item " + uri.substring(7) + itemsVersion);
        } else if (uri.startsWith("/users/")) {
            return new Answer(usersStatus, "{\"user\":" + uri.substring(7) + "}");
        } else if (uri.startsWith("/search?")) {
            return new Answer(200, "results for " + uri.substring(8));
        } else if (uri.equals("/orders") && method.equals("POST")) {
            return new Answer(201, "order " + body);
        }
        return new Answer(404, "no " + uri);
    }

    private static BackendHandler shop(int usersStatus, String itemsVersion) {
        return ex -> {
            Answer answer = shopAnswer(ex.method(), ex.uri(), ex.request().bodyString(), usersStatus, itemsVersion);
            ex.respond(answer.status(), answer.body());
        };
    }

    /**
     * The same shop on the JDK's own HTTP server, for the 10,000-request replay: the suite runs
     * Netty's leak detection at PARANOID, which makes a Netty backend cost more than the replay
     * it answers.
     */
    private static HttpServer jdkShop(AtomicInteger requests) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            byte[] body = exchange.getRequestBody().readAllBytes();
            Answer answer = shopAnswer(exchange.getRequestMethod(), exchange.getRequestURI().toString(),
                    new String(body, StandardCharsets.UTF_8), 200, "");
            byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("content-type", "text/plain; charset=utf-8");
            exchange.sendResponseHeaders(answer.status(), bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.setExecutor(Executors.newFixedThreadPool(4, Thread.ofPlatform().daemon().name("jdk-shop-", 0).factory()));
        server.start();
        return server;
    }

    private static List<HarLines.Call> shopCalls() {
        List<HarLines.Call> calls = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            calls.add(HarLines.Call.get("items", "/items/" + i));
            calls.add(HarLines.Call.get("users", "/users/" + i));
        }
        calls.add(HarLines.Call.get("search", "/search?q=boots&page=2"));
        calls.add(HarLines.Call.get("fallback", "/nowhere"));
        return calls;
    }

    private static URI uri(TestBackend backend) {
        return URI.create("http://" + backend.authority());
    }

    @Test
    void tenThousandRecordedRequestsReplayedAgainstAnIdenticalBackendShowNoDifferenceAndExitZero() throws Exception {
        AtomicInteger requests = new AtomicInteger();
        HttpServer backend = jdkShop(requests);
        try {
            URI target = URI.create("http://127.0.0.1:" + backend.getAddress().getPort());
            List<HarLines.Answered> answers = HarLines.ask(target, shopCalls());
            // Two files whose entries interleave in time (two Sluices' recordings, say): the replay
            // merges them by startedDateTime.
            Path a = HarLines.write(dir.resolve("sluice-record-a.jsonl"), answers, 5_000, 0, 2);
            Path b = HarLines.write(dir.resolve("sluice-record-b.jsonl"), answers.reversed(), 5_000, 1, 2);
            int before = requests.get();

            Run run = replay(a, b, "--target", target, "--rate", "1000000/s", "--concurrency", 32, "--compare",
                    "--json");

            assertThat(run.err()).isEmpty();
            assertThat(run.exit()).isZero();
            JsonNode report = run.json();
            assertThat(report.at("/requests/recorded").asInt()).isEqualTo(10_000);
            assertThat(report.at("/requests/sent").asInt()).isEqualTo(10_000);
            assertThat(report.at("/requests/skipped_unsafe").asInt()).isZero();
            assertThat(report.path("differences").asInt()).isZero();
            assertThat(report.path("exceeded").asBoolean()).isFalse();
            assertThat(report.path("differing_routes")).isEmpty();
            assertThat(report.at("/total/bodies_compared").asInt()).isEqualTo(10_000);
            assertThat(report.at("/total/body_mismatches").asInt()).isZero();
            assertThat(report.at("/total/failures")).isEmpty();
            assertThat(report.at("/total/status_changes")).isEmpty();
            assertThat(report.path("routes")).extracting(r -> r.path("route").asText())
                    .containsExactly("fallback", "items", "search", "users");
            assertThat(report.at("/total/latency_ms/now/p99").isNumber()).isTrue();
            assertThat(report.at("/total/latency_ms/recorded/p50").isNumber()).isTrue();
            assertThat(requests.get() - before).isEqualTo(10_000);
        } finally {
            backend.stop(0);
        }
    }

    @Test
    void whatSluiceRecordedReplaysWithoutDifferenceAndARouteChangedBehindItIsNamed() throws Exception {
        Path recordings = Files.createDirectory(dir.resolve("recorded"));
        try (TestBackend backend = TestBackend.start(shop(200, ""));
             TestGateway gateway = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                     routes:
                       - name: items
                         match: { path_prefix: /items/ }
                         cluster: shop
                         record: { path: %1$s, fraction: 1 }
                       - name: users
                         match: { path_prefix: /users/ }
                         cluster: shop
                         record: { path: %1$s, fraction: 1 }
                     clusters:
                       - name: shop
                         endpoints: [%2$s]
                     """.formatted(recordings, backend.authority()));
             HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            for (int i = 1; i <= 50; i++) {
                for (String path : List.of("/items/" + i, "/users/" + i)) {
                    HttpResponse<String> answer = client.send(HttpRequest.newBuilder(URI.create(gateway.url(path)))
                            .header("accept", "application/json").build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(answer.statusCode()).isEqualTo(200);
                }
            }
            // The recorder writes on its own thread: wait for the 100 lines, then replay a copy (the
            // replayed requests are recorded too, into the same directory).
            Path copy = Files.createDirectory(dir.resolve("copy"));
            Await.until(Duration.ofSeconds(10), () -> wholeLines(recordings) == 100, "100 recorded lines");
            List<Path> files = new ArrayList<>();
            try (Stream<Path> recorded = Files.list(recordings)) {
                for (Path file : recorded.sorted().toList()) {
                    files.add(Files.copy(file, copy.resolve(file.getFileName())));
                }
            }
            Object[] args = Stream.concat(files.stream().map(Path::toString), Stream.of("--target",
                    "http://" + gateway.address().getHostString() + ":" + gateway.address().getPort(), "--rate",
                    "100000/s", "--compare", "--json")).toArray();

            Run same = replay(args);

            assertThat(same.err()).isEmpty();
            assertThat(same.exit()).isZero();
            assertThat(same.json().at("/requests/sent").asInt()).isEqualTo(100);
            assertThat(same.json().at("/total/bodies_compared").asInt()).isEqualTo(100);
            assertThat(same.json().path("differences").asInt()).isZero();

            backend.handler(shop(500, ""));
            Run changed = replay(args);

            assertThat(changed.exit()).isEqualTo(1);
            assertThat(changed.json().path("differing_routes")).extracting(JsonNode::asText).containsExactly("users");
            assertThat(route(changed.json(), "users").path("status_changes"))
                    .isEqualTo(JSON.readTree("{\"2xx->5xx\":50}"));
            assertThat(route(changed.json(), "items").path("differences").asInt()).isZero();
        }
    }

    private static long wholeLines(Path directory) {
        try (Stream<Path> files = Files.list(directory)) {
            long lines = 0;
            for (Path file : files.toList()) {
                String text = Files.readString(file);
                lines += text.chars().filter(c -> c == '\n').count();
            }
            return lines;
        } catch (IOException e) {
            return -1;
        }
    }

    @Test
    void aRouteWhoseStatusChangedIsNamedAndTheReplayExitsOne() throws Exception {
        try (TestBackend backend = TestBackend.start(shop(200, ""))) {
            Path recording = HarLines.write(dir.resolve("sluice-record-1.jsonl"),
                    HarLines.ask(uri(backend), shopCalls()), 420, 0, 1);
            backend.handler(shop(503, ""));

            Run run = replay(recording, "--target", uri(backend), "--rate", "100000/s", "--compare", "--json");

            assertThat(run.exit()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("sluice replay: 200 of 420 sent requests differ, --max-diff 0: exceeded, "
                    + "in route users (200)\n");
            JsonNode report = run.json();
            assertThat(report.path("differing_routes")).extracting(JsonNode::asText).containsExactly("users");
            JsonNode users = route(report, "users");
            assertThat(users.path("status_changes")).isEqualTo(JSON.readTree("{\"2xx->5xx\":200}"));
            assertThat(users.path("body_mismatches").asInt()).isZero();
            assertThat(route(report, "items").path("differences").asInt()).isZero();
        }
    }

    @Test
    void aRouteWhoseBodiesChangedIsNamedInTheTableAndTheVerdict() throws Exception {
        try (TestBackend backend = TestBackend.start(shop(200, ""))) {
            Path recording = HarLines.write(dir.resolve("sluice-record-1.jsonl"),
                    HarLines.ask(uri(backend), shopCalls()), 84, 0, 1);
            backend.handler(shop(200, " (v2)"));

            Run run = replay(recording, "--target", uri(backend), "--rate", "100000/s", "--compare");

            assertThat(run.exit()).isEqualTo(1);
            assertThat(run.out()).startsWith("replayed 84 of 84 recorded requests to " + uri(backend) + " in ");
            assertThat(run.out().lines().filter(l -> l.startsWith("items ")).findFirst().orElseThrow())
                    .matches("items +40 +- +- +40/40 +- +.*  40");
            assertThat(run.out().lines().filter(l -> l.startsWith("users ")).findFirst().orElseThrow())
                    .matches("users +40 +- +- +0/40 +- +.*  0");
            assertThat(run.out()).endsWith("40 of 84 sent requests differ, --max-diff 0: exceeded, in route items (40)\n");
            assertThat(run.err()).contains("in route items (40)");
        }
    }

    @Test
    void differencesWithinMaxDiffPassAndWithoutCompareOnlyFailuresCount() throws Exception {
        try (TestBackend backend = TestBackend.start(shop(200, ""))) {
            Path recording = HarLines.write(dir.resolve("sluice-record-1.jsonl"),
                    HarLines.ask(uri(backend), shopCalls()), 84, 0, 1);
            backend.handler(shop(200, " (v2)"));

            assertThat(replay(recording, "--target", uri(backend), "--rate", "100000/s", "--compare", "--max-diff", "40")
                    .exit()).isZero();
            assertThat(replay(recording, "--target", uri(backend), "--rate", "100000/s", "--compare", "--max-diff", "50%")
                    .exit()).isZero();
            assertThat(replay(recording, "--target", uri(backend), "--rate", "100000/s", "--compare", "--max-diff", "47%")
                    .exit()).isEqualTo(1);
            Run uncompared = replay(recording, "--target", uri(backend), "--rate", "100000/s", "--json");
            assertThat(uncompared.exit()).isZero();
            assertThat(uncompared.json().at("/total/body_mismatches").asInt()).isEqualTo(40);
            assertThat(uncompared.json().path("differences").asInt()).isZero();
        }
    }

    @Test
    void unsafeMethodsAreSkippedAndCountedUnlessAllowedAndThenSentAsRecorded() throws Exception {
        try (TestBackend backend = TestBackend.start(shop(200, ""))) {
            HarLines.Call post = new HarLines.Call("orders", "POST", "/orders?src=replay",
                    Map.of("content-type", "application/json", "connection", "keep-alive, x-hop", "x-hop", "1",
                            "keep-alive", "timeout=5", "x-tenant", "acme"), "{\"sku\":42}");
            HarLines.Call delete = new HarLines.Call("users", "DELETE", "/users/7", Map.of(), null);
            Path recording = HarLines.write(dir.resolve("sluice-record-1.jsonl"), HarLines.ask(uri(backend),
                    List.of(HarLines.Call.get("items", "/items/1"), post, delete,
                            new HarLines.Call("items", "HEAD", "/items/2", Map.of(), null))), 4, 0, 1);
            backend.clearRequests();
            int before = backend.requestCount();

            Run safeOnly = replay(recording, "--target", uri(backend), "--rate", "1000/s", "--compare", "--json");

            assertThat(safeOnly.exit()).isZero();
            assertThat(safeOnly.json().at("/requests/sent").asInt()).isEqualTo(2);
            assertThat(safeOnly.json().at("/total/bodies_compared").asInt()).isEqualTo(2);
            assertThat(safeOnly.json().path("differences").asInt()).isZero();
            assertThat(safeOnly.json().at("/requests/skipped_unsafe").asInt()).isEqualTo(2);
            assertThat(route(safeOnly.json(), "orders").path("skipped_unsafe").asInt()).isEqualTo(1);
            assertThat(backend.requestCount() - before).isEqualTo(2);
            assertThat(backend.requests()).extracting(RecordedRequest::method).containsExactlyInAnyOrder("GET", "HEAD");

            backend.clearRequests();
            Run all = replay(recording, "--target", uri(backend), "--rate", "1000/s", "--compare", "--json",
                    "--allow-unsafe");

            assertThat(all.exit()).isZero();
            assertThat(all.json().at("/requests/sent").asInt()).isEqualTo(4);
            RecordedRequest order = backend.requests().stream().filter(r -> r.method().equals("POST")).findFirst()
                    .orElseThrow();
            assertThat(order.uri()).isEqualTo("/orders?src=replay");
            assertThat(order.bodyString()).isEqualTo("{\"sku\":42}");
            assertThat(order.header("content-length")).isEqualTo("10");
            assertThat(order.header("x-tenant")).isEqualTo("acme");
            assertThat(order.header("x-sluice-replay")).isEqualTo("1");
            assertThat(order.header("host")).isEqualTo(backend.authority());
            assertThat(order.header("x-hop")).isNull();
            assertThat(order.header("keep-alive")).isNull();
            assertThat(order.headerValues("connection")).doesNotContain("keep-alive, x-hop");
            assertThat(backend.requests()).anySatisfy(r -> assertThat(r.method()).isEqualTo("DELETE"));
        }
    }

    @Test
    void aWholeHarFileFromBrowserToolsIsGroupedByMethodAndPathTemplate() throws Exception {
        try (TestBackend backend = TestBackend.start(shop(200, ""))) {
            Path har = dir.resolve("devtools.har");
            Files.writeString(har, """
                    {
                      "log": {
                        "version": "1.2",
                        "creator": { "name": "WebInspector", "version": "537.36" },
                        "pages": [],
                        "entries": [
                          {
                            "startedDateTime": "2026-12-05T03:00:00.000+01:00",
                            "time": 12.5,
                            "request": { "method": "GET", "url": "https://shop.example/items/17",
                              "httpVersion": "http/2.0",
                              "headers": [ { "name": ":authority", "value": "shop.example" },
                                           { "name": "accept", "value": "*/*" } ],
                              "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0 },
                            "response": { "status": 200, "statusText": "", "httpVersion": "http/2.0", "headers": [],
                              "cookies": [], "content": { "size": 7, "mimeType": "text/plain" }, "redirectURL": "",
                              "headersSize": -1, "bodySize": 7 },
                            "cache": {}, "timings": { "send": 0, "wait": 12, "receive": 0.5 }
                          },
                          {
                            "startedDateTime": "2026-12-05T02:00:00.020Z",
                            "time": 8,
                            "request": { "method": "GET", "url": "https://shop.example/items/18?x=1",
                              "httpVersion": "http/2.0", "headers": [], "queryString": [], "cookies": [],
                              "headersSize": -1, "bodySize": 0 },
                            "response": { "status": 404, "statusText": "", "httpVersion": "http/2.0", "headers": [],
                              "cookies": [], "content": { "size": 0, "mimeType": "" }, "redirectURL": "",
                              "headersSize": -1, "bodySize": 0 },
                            "cache": {}, "timings": { "send": 0, "wait": 8, "receive": 0 }
                          }
                        ]
                      }
                    }
                    """);

            Run run = replay(har, "--target", uri(backend), "--compare", "--json");

            assertThat(run.exit()).isEqualTo(1);
            JsonNode items = route(run.json(), "GET /items/{id}");
            assertThat(items.path("sent").asInt()).isEqualTo(2);
            // The second entry was recorded 404 (the query string is part of the path the shop looks up
            // here): now 200, a class change; neither has a body hash, so no body is compared.
            assertThat(items.path("status_changes")).isEqualTo(JSON.readTree("{\"4xx->2xx\":1}"));
            assertThat(items.path("bodies_compared").asInt()).isZero();
            assertThat(backend.requests()).extracting(RecordedRequest::uri).contains("/items/17", "/items/18?x=1");
        }
    }

    @Test
    void aMalformedLineIsRefusedWithItsFileAndLineBeforeAnythingIsSent() throws Exception {
        try (TestBackend backend = TestBackend.start(shop(200, ""))) {
            Path good = HarLines.write(dir.resolve("sluice-record-1.jsonl"),
                    HarLines.ask(uri(backend), List.of(HarLines.Call.get("items", "/items/1"))), 2, 0, 1);
            List<String> lines = new ArrayList<>(Files.readAllLines(good));
            lines.add("");
            lines.add(lines.get(0).substring(0, 80));
            Path broken = Files.write(dir.resolve("sluice-record-2.jsonl"), lines);
            Path noUrl = Files.writeString(dir.resolve("sluice-record-3.jsonl"),
                    lines.get(0) + "\n" + lines.get(0).replaceFirst("\"url\":\"[^\"]*\",", "") + "\n");
            Path badDate = Files.writeString(dir.resolve("sluice-record-4.jsonl"),
                    lines.get(0).replaceFirst("\"startedDateTime\":\"[^\"]*\"", "\"startedDateTime\":\"yesterday\"") + "\n");
            backend.clearRequests();
            int before = backend.requestCount();

            Run truncated = replay(good, broken, "--target", uri(backend));
            assertThat(truncated.exit()).isEqualTo(2);
            assertThat(truncated.err()).startsWith(broken + ":4: not JSON: ");
            assertThat(truncated.out()).isEmpty();

            assertThat(replay(noUrl, "--target", uri(backend)).err())
                    .isEqualTo(noUrl + ":2: \"url\" must be a string\n");
            assertThat(replay(badDate, "--target", uri(backend)).err()).startsWith(badDate
                    + ":1: startedDateTime 'yesterday' is not an ISO 8601 date and time");
            assertThat(replay(dir.resolve("absent.jsonl"), "--target", uri(backend)).err())
                    .isEqualTo(dir.resolve("absent.jsonl") + ": no such file\n");
            assertThat(backend.requestCount() - before).isZero();
        }
    }

    @Test
    void aLastLineCutShortWithoutItsNewlineIsSkippedWithAWarning() throws Exception {
        try (TestBackend backend = TestBackend.start(shop(200, ""))) {
            Path recording = HarLines.write(dir.resolve("sluice-record-1.jsonl"),
                    HarLines.ask(uri(backend), List.of(HarLines.Call.get("items", "/items/1"))), 3, 0, 1);
            String text = Files.readString(recording);
            // What a crash in the middle of writing the third line leaves: its beginning, no newline.
            Files.writeString(recording, text.substring(0, text.length() - 200));

            Run run = replay(recording, "--target", uri(backend), "--rate", "1000/s", "--compare", "--json");

            assertThat(run.exit()).isZero();
            assertThat(run.err()).isEqualTo(recording + ":3: warning: the last line is cut short (a file still "
                    + "being written, or one a crash ended); skipped\n");
            assertThat(run.json().at("/requests/sent").asInt()).isEqualTo(2);
        }
    }

    @Test
    void aBrokenEntryInAHarFileIsLocatedAtTheLineItStartsOn() throws Exception {
        Path har = Files.writeString(dir.resolve("broken.har"), """
                {
                  "log": {
                    "entries": [
                      {
                        "startedDateTime": "2026-12-05T02:00:00Z", "time": 1,
                        "request": { "method": "GET", "url": "/relative" },
                        "response": { "status": 200 }
                      }
                    ]
                  }
                }
                """);
        Path notHar = Files.writeString(dir.resolve("other.json"), "{\n  \"entries\": []\n}\n");

        Run run = replay(har, "--target", "http://127.0.0.1:9");
        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).isEqualTo(har + ":4: request.url '/relative' must be an absolute http or https URL\n");
        assertThat(replay(notHar, "--target", "http://127.0.0.1:9").err())
                .isEqualTo(notHar + ":1: a HAR file needs \"log\": {\"entries\": [...]}\n");
    }

    @Test
    void failuresAreCountedByKindAndFailTheReplay() throws Exception {
        List<HarLines.Answered> answers;
        try (TestBackend backend = TestBackend.start(shop(200, ""))) {
            answers = HarLines.ask(uri(backend), List.of(HarLines.Call.get("items", "/items/1")));
        }
        Path recording = HarLines.write(dir.resolve("sluice-record-1.jsonl"), answers, 5, 0, 1);

        Run refused = replay(recording, "--target", "http://127.0.0.1:" + Ports.freeLoopbackPort(), "--rate", "1000/s",
                "--json");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.json().at("/total/failures")).isEqualTo(JSON.readTree("{\"connect_refused\":5}"));
        assertThat(refused.json().path("differing_routes")).extracting(JsonNode::asText).containsExactly("items");

        try (TestBackend silent = TestBackend.start(BackendHandlers.neverRespond());
             TestBackend resetting = TestBackend.start(BackendHandlers.resetConnection())) {
            Run slow = replay(recording, "--target", uri(silent), "--rate", "1000/s", "--timeout", "300ms", "--json");
            assertThat(slow.exit()).isEqualTo(1);
            assertThat(slow.json().at("/total/failures")).isEqualTo(JSON.readTree("{\"response_timeout\":5}"));

            Run reset = replay(recording, "--target", uri(resetting), "--rate", "1000/s", "--json");
            assertThat(reset.exit()).isEqualTo(1);
            assertThat(reset.json().at("/total/failures").fieldNames()).toIterable().containsAnyOf("reset", "closed");
            assertThat(reset.json().at("/total/failures/reset").asInt() + reset.json().at("/total/failures/closed").asInt())
                    .isEqualTo(5);
        }
    }

    @Test
    void badOptionsAreUsageErrors() throws Exception {
        Path recording = Files.writeString(dir.resolve("empty.jsonl"), "\n");
        assertThat(replay(recording, "--target", "http://127.0.0.1:9/base").exit()).isEqualTo(2);
        assertThat(replay(recording, "--target", "ftp://127.0.0.1:9").exit()).isEqualTo(2);
        Run badRate = replay(recording, "--target", "http://127.0.0.1:9", "--rate", "fast");
        assertThat(badRate.exit()).isEqualTo(2);
        assertThat(badRate.err()).contains("'fast' is not a rate: write 1x");
        assertThat(replay(recording, "--target", "http://127.0.0.1:9", "--max-diff", "lots").exit()).isEqualTo(2);
        assertThat(replay(recording, "--target", "http://127.0.0.1:9", "--timeout", "10").exit()).isEqualTo(2);
        assertThat(replay(recording).exit()).isEqualTo(2);
        Run empty = replay(recording, "--target", "http://127.0.0.1:9");
        assertThat(empty.exit()).isEqualTo(2);
        assertThat(empty.err()).isEqualTo("sluice replay: the recording has no entries: nothing to replay\n");
    }

    private static JsonNode route(JsonNode report, String name) {
        for (JsonNode route : report.path("routes")) {
            if (route.path("route").asText().equals(name)) {
                return route;
            }
        }
        throw new AssertionError("no route " + name + " in " + report.toPrettyString());
    }
}
