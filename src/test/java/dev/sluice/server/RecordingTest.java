package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.Sluice;
import dev.sluice.route.Route;
import dev.sluice.testing.Await;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.Sha256;
import dev.sluice.testing.TestBackend;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Recording on real sockets: the files routes[].record writes hold one HAR 1.2 entry per line
 * (docs/recording.md), never a redacted field (request or response), rotate by size keeping the
 * newest, sample by fraction, and export to one HAR document.
 */
class RecordingTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET = "Bearer s3cr3t-t0ken";
    /** Longer than the loop keeps of a response (RecordingCapture.RESPONSE_KEPT): hashed as it passes. */
    private static final byte[] BIG = new byte[100_000];

    static {
        for (int i = 0; i < BIG.length; i++) {
            BIG[i] = (byte) ('a' + i % 26);
        }
    }

    @TempDir
    Path dir;
    private TestBackend backend;
    private TestGateway gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private void start(String record) throws Exception {
        backend = TestBackend.start(ex -> ex.respond(ex.path().equals("/missing") ? 404 : 200,
                new DefaultHttpHeaders().add("content-type", "application/json").add("set-cookie", "session=abc123secret")
                        .add("x-served-by", "app"),
                ex.path().equals("/big") ? BIG : ("{\"path\":\"" + ex.path() + "\"}").getBytes(StandardCharsets.UTF_8)));
        gateway = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: unrecorded
                    match: { path_prefix: /unrecorded/ }
                    cluster: app
                  - name: api
                    match: { path_prefix: / }
                    cluster: app
                    record: %s
                clusters:
                  - name: app
                    endpoints: [%s]
                """.formatted(record.replace("DIR", dir.toString()), backend.authority()));
    }

    private Map<String, Object> status() {
        Route api = gateway.gateway().snapshot().routes().routes().get(1);
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) gateway.gateway().taps().status(api).get("record");
        return m;
    }

    private long written() {
        return ((Number) status().get("written")).longValue();
    }

    private List<Path> files() {
        try (Stream<Path> all = Files.list(dir)) {
            // Oldest first: by the time in the name, then N as a number (-10 after -9).
            return all.filter(p -> p.getFileName().toString().endsWith(".jsonl"))
                    .sorted(java.util.Comparator.comparing((Path p) -> p.getFileName().toString().replaceAll("-\\d+\\.jsonl$", ""))
                            .thenComparingLong(p -> Long.parseLong(p.getFileName().toString()
                                    .replaceAll(".*-(\\d+)\\.jsonl$", "$1"))))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<JsonNode> entries() throws IOException {
        List<JsonNode> entries = new ArrayList<>();
        for (Path f : files()) {
            for (String line : Files.readAllLines(f)) {
                entries.add(JSON.readTree(line));
            }
        }
        return entries;
    }

    /**
     * Waits until the recorder has written every entry offered before now, and the files hold
     * them. An exchange is offered on its loop just after its response is handed on, so one more
     * request on the same connection, to a route that records nothing, comes after all of them.
     */
    private long settle(RawHttpClient client) throws IOException {
        client.send("GET /unrecorded/x HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(client.readResponse(T).status()).isEqualTo(200);
        return Await.value(T, this::written, n -> {
            try {
                return gateway.gateway().taps().recordsQueued() == 0 && entries().size() == n;
            } catch (IOException e) {
                return false;
            }
        }, "every offered entry written and in the files");
    }

    /** Waits until {@code n} entries are written and the writer has flushed them to the files. */
    private List<JsonNode> awaitEntries(int n) {
        Await.until(T, () -> written() == n, () -> "written " + written() + " of " + n);
        return Await.value(T, () -> {
            try {
                return entries();
            } catch (IOException e) {
                return List.<JsonNode>of();
            }
        }, list -> list.size() == n, n + " entries in the files");
    }

    @Test
    void anExchangeIsWrittenAsAHarEntryWithoutItsRedactedFields() throws Exception {
        start("{ path: DIR, fraction: 1 }");
        RawResponse response;
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            client.send("POST /orders/7?expand=items&q=a%20b HTTP/1.1\r\nHost: shop.example\r\nAuthorization: " + SECRET
                    + "\r\nCookie: session=abc123secret\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
                    + "{\"qty\": 2000}");
            response = client.readResponse(T);
        }
        assertThat(response.status()).isEqualTo(200);
        JsonNode entry = awaitEntries(1).get(0);
        assertThat(files()).singleElement().satisfies(f ->
                assertThat(f.getFileName().toString()).matches("sluice-record-\\d{8}-\\d{6}-\\d+\\.jsonl"));

        JsonNode request = entry.get("request");
        assertThat(request.get("method").asText()).isEqualTo("POST");
        assertThat(request.get("url").asText()).isEqualTo("http://shop.example/orders/7?expand=items&q=a%20b");
        assertThat(request.get("httpVersion").asText()).isEqualTo("HTTP/1.1");
        assertThat(request.get("queryString").toString())
                .isEqualTo("[{\"name\":\"expand\",\"value\":\"items\"},{\"name\":\"q\",\"value\":\"a b\"}]");
        assertThat(request.get("headersSize").asInt()).isEqualTo(-1);
        assertThat(request.get("bodySize").asInt()).isEqualTo(13);
        assertThat(request.get("postData").get("mimeType").asText()).isEqualTo("application/json");
        assertThat(request.get("postData").get("text").asText()).isEqualTo("{\"qty\": 2000}");
        assertThat(request.get("postData").has("encoding")).isFalse();
        assertThat(names(request.get("headers"))).contains("Host", "Content-Type").doesNotContain("Authorization", "Cookie");

        JsonNode resp = entry.get("response");
        assertThat(resp.get("status").asInt()).isEqualTo(200);
        assertThat(resp.get("statusText").asText()).isEqualTo("OK");
        assertThat(names(resp.get("headers"))).contains("x-served-by").doesNotContain("set-cookie");
        assertThat(resp.get("content").get("mimeType").asText()).isEqualTo("application/json");
        assertThat(resp.get("content").get("size").asInt()).isEqualTo(response.body().length);
        assertThat(resp.get("redirectURL").asText()).isEmpty();
        assertThat(entry.get("_responseBodySha256").asText()).isEqualTo(Sha256.hex(response.body()));
        assertThat(entry.get("_route").asText()).isEqualTo("api");
        assertThat(entry.get("_requestBodyTruncated").asBoolean()).isFalse();
        assertThat(entry.get("_responseBodyTruncated").asBoolean()).isFalse();
        assertThat(entry.get("_redacted").toString()).isEqualTo("[\"authorization\",\"cookie\",\"set-cookie\"]");
        assertThat(entry.get("cache").isObject()).isTrue();
        assertThat(entry.get("timings").get("wait").asDouble()).isGreaterThanOrEqualTo(0);
        assertThat(entry.get("time").asDouble()).isGreaterThan(0);
        assertThat(entry.get("startedDateTime").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");

        // Not in any form, anywhere in the file: the token, and the cookie both ways.
        String file = Files.readString(files().get(0));
        assertThat(file).doesNotContain("s3cr3t").doesNotContain("abc123secret");
    }

    @Test
    void aResponseBodyLongerThanTheLoopKeepsIsHashedWholeAsItPasses() throws Exception {
        start("{ path: DIR, fraction: 1 }");
        RawResponse big;
        RawResponse small;
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            client.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
            big = client.readResponse(T);
            client.send("GET /small HTTP/1.1\r\nHost: h\r\n\r\n");
            small = client.readResponse(T);
        }
        assertThat(big.body()).isEqualTo(BIG);
        List<JsonNode> entries = awaitEntries(2);
        assertThat(entries.get(0).get("_responseBodySha256").asText()).isEqualTo(Sha256.hex(BIG));
        assertThat(entries.get(0).get("response").get("bodySize").asLong()).isEqualTo(BIG.length);
        assertThat(entries.get(1).get("_responseBodySha256").asText()).isEqualTo(Sha256.hex(small.body()));
        assertThat(entries.get(1).get("response").get("bodySize").asLong()).isEqualTo(small.body().length);
    }

    @Test
    void aBodyThatIsNotTextIsBase64AndOneOverMaxBodyIsCut() throws Exception {
        start("{ path: DIR, fraction: 1, max_body: 16 }");
        byte[] binary = new byte[40];
        for (int i = 0; i < binary.length; i++) {
            binary[i] = (byte) (0x80 + i);
        }
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            client.send("PUT /blob HTTP/1.1\r\nHost: h\r\nContent-Type: application/octet-stream\r\nContent-Length: 40\r\n\r\n");
            client.send(binary);
            assertThat(client.readResponse(T).status()).isEqualTo(200);
        }
        JsonNode entry = awaitEntries(1).get(0);
        JsonNode post = entry.get("request").get("postData");
        assertThat(post.get("encoding").asText()).isEqualTo("base64");
        assertThat(Base64.getDecoder().decode(post.get("text").asText())).isEqualTo(java.util.Arrays.copyOf(binary, 16));
        assertThat(entry.get("request").get("bodySize").asInt()).isEqualTo(40);
        assertThat(entry.get("_requestBodyTruncated").asBoolean()).isTrue();
    }

    @Test
    void filesRotateBySizeAndOnlyTheNewestAreKept() throws Exception {
        start("{ path: DIR, fraction: 1, rotate: { size: 1KiB, keep: 2 } }");
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            for (int i = 0; i < 30; i++) {
                client.send("GET /page/" + i + " HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(client.readResponse(T).status()).isEqualTo(200);
            }
        }
        Await.until(T, () -> written() == 30, "30 written");
        Await.until(T, () -> files().size() == 2, () -> "files: " + files());
        // The newest survive, the last request among them (once flushed); each file is whole lines of entries.
        List<JsonNode> kept = Await.value(T, () -> {
            try {
                return entries();
            } catch (IOException e) {
                return List.<JsonNode>of();
            }
        }, list -> !list.isEmpty() && list.get(list.size() - 1).get("request").get("url").asText().endsWith("/page/29"),
                "the last request in the newest file");
        assertThat(kept).hasSizeLessThan(30);
    }

    @Test
    void aFractionRecordsAboutThatShareAndCountsMatchTheFiles() throws Exception {
        start("{ path: DIR, fraction: 0.5 }");
        long written;
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            for (int i = 0; i < 400; i++) {
                client.send("GET /missing HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(client.readResponse(T).status()).isEqualTo(404);
            }
            written = settle(client);
        }
        // 400 draws at 1/2: outside [140, 260] has a probability below 1e-9.
        assertThat(written).isBetween(140L, 260L);
        assertThat(entries()).allSatisfy(e -> assertThat(e.get("response").get("status").asInt()).isEqualTo(404));
        assertThat(gateway.gateway().metrics().scrape())
                .contains("sluice_record_entries_total{outcome=\"written\",route=\"api\"} " + written + ".0");
    }

    @Test
    void recordExportWrapsTheLinesInOneHarDocument() throws Exception {
        start("{ path: DIR, fraction: 1 }");
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            for (int i = 0; i < 3; i++) {
                client.send("GET /e/" + i + " HTTP/1.1\r\nHost: h\r\n\r\n");
                assertThat(client.readResponse(T).status()).isEqualTo(200);
            }
        }
        awaitEntries(3);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> args = new ArrayList<>(List.of("record", "export"));
        files().forEach(f -> args.add(f.toString()));
        int exit = new CommandLine(new Sluice()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(args.toArray(String[]::new));
        assertThat(err.toString()).isEmpty();
        assertThat(exit).isZero();
        JsonNode har = JSON.readTree(out.toString());
        assertThat(har.get("log").get("version").asText()).isEqualTo("1.2");
        assertThat(har.get("log").get("creator").get("name").asText()).isEqualTo("sluice");
        assertThat(har.get("log").get("entries")).hasSize(3);
        assertThat(har.get("log").get("entries").get(2).get("request").get("url").asText()).isEqualTo("http://h/e/2");
    }

    private static List<String> names(JsonNode headers) {
        List<String> names = new ArrayList<>();
        headers.forEach(h -> names.add(h.get("name").asText()));
        return names;
    }
}
