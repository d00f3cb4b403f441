package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.aayushatharva.brotli4j.Brotli4jLoader;
import com.aayushatharva.brotli4j.decoder.Decoder;
import com.aayushatharva.brotli4j.decoder.DecoderJNI;
import com.aayushatharva.brotli4j.decoder.DirectDecompress;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.CheckCommand;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendExchange;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.DataFormatException;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Response compression on real sockets: what a client that accepts gzip or br gets (decoded, the
 * backend's bytes), what is left alone (each exclusion), the head's edits, a body streamed as it
 * comes, and the access log's count of the bytes sent.
 */
class ResponseCompressionTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** 12 KiB of text that compresses as pages do: repeated words, not one repeated byte. */
    static final byte[] PAGE = text(12 * 1024);

    private static TestBackend backend;
    private static TestGateway gateway;
    private static volatile CompletableFuture<BackendExchange> streaming = new CompletableFuture<>();

    static byte[] text(int size) {
        StringBuilder s = new StringBuilder(size + 64);
        for (int i = 0; s.length() < size; i++) {
            s.append("<li class=\"item\">order ").append(i).append(" shipped to customer ").append(i * 7919 % 1000)
                    .append("</li>\n");
        }
        return s.substring(0, size).getBytes(StandardCharsets.US_ASCII);
    }

    private static HttpHeaders headers(String... nameValues) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (int i = 0; i < nameValues.length; i += 2) {
            h.add(nameValues[i], nameValues[i + 1]);
        }
        return h;
    }

    @BeforeAll
    static void start() throws Exception {
        backend = TestBackend.start(ex -> {
            switch (ex.path()) {
                case "/page" -> ex.respond(200, headers("content-type", "text/html; charset=utf-8", "etag", "\"v1\"",
                        "accept-ranges", "bytes", "vary", "Cookie"), PAGE);
                case "/json" -> ex.respond(404, headers("content-type", "application/json"), PAGE);
                case "/small" -> ex.respond(200, headers("content-type", "text/plain"), text(1000));
                case "/image" -> ex.respond(200, headers("content-type", "image/png"), PAGE);
                case "/untyped" -> ex.respond(200, headers(), PAGE);
                case "/encoded" -> ex.respond(200, headers("content-type", "text/plain", "content-encoding", "gzip"), PAGE);
                case "/no-transform" -> ex.respond(200, headers("content-type", "text/plain",
                        "cache-control", "public, No-Transform"), PAGE);
                case "/no-content" -> ex.respond(204, headers("content-type", "text/plain"), new byte[0]);
                case "/not-modified" -> ex.respond(304, headers("content-type", "text/plain", "etag", "\"v1\""), new byte[0]);
                case "/range" -> ex.respond(206, headers("content-type", "text/plain", "content-range", "bytes 0-1999/12288"),
                        java.util.Arrays.copyOf(PAGE, 2000));
                case "/chunked" -> {
                    ex.startResponse(200, headers("content-type", "text/plain"));
                    ex.writeContent(java.util.Arrays.copyOfRange(PAGE, 0, 100));
                    ex.writeContent(java.util.Arrays.copyOfRange(PAGE, 100, PAGE.length));
                    ex.endResponse();
                }
                case "/stream" -> {
                    ex.startResponse(200, headers("content-type", "text/event-stream"));
                    ex.writeContent(java.util.Arrays.copyOfRange(PAGE, 0, 4096));
                    streaming.complete(ex);
                }
                default -> ex.respond(200, headers("content-type", "text/plain"), PAGE);
            }
        });
        gateway = TestGateway.fromYaml(yaml(backend.authority()));
    }

    /** Three routes: one without compress, one offering gzip only, one with every default. */
    static String yaml(String backend) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - name: plain
                    match: { path_prefix: /plain/ }
                    cluster: app
                    strip_prefix: true
                  - name: gzip-only
                    match: { path_prefix: /gz/ }
                    cluster: app
                    strip_prefix: true
                    compress: { encodings: [gzip], gzip_level: 6 }
                  - name: compressed
                    match: { path_prefix: / }
                    cluster: app
                    compress: true
                clusters:
                  - name: app
                    endpoints: [%s]
                """.formatted(backend);
    }

    @Test
    void theConfigIsAcceptedByCheck(@TempDir Path dir) throws Exception {
        CheckCommand.passes(dir, yaml("127.0.0.1:9001")).says("1 listeners, 3 routes, 1 clusters");
    }

    @AfterAll
    static void stop() {
        gateway.close();
        backend.close();
    }

    private static RawResponse get(String target, String... fields) {
        return request("GET", target, fields);
    }

    private static RawResponse request(String method, String target, String... fields) {
        StringBuilder request = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: app\r\n");
        for (String field : fields) {
            request.append(field).append("\r\n");
        }
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            return c.send(request.append("\r\n").toString()).readResponse(T, method);
        }
    }

    static byte[] gunzip(byte[] body) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] unbrotli(byte[] body) {
        Brotli4jLoader.ensureAvailability();
        try {
            DirectDecompress d = Decoder.decompress(body);
            assertThat(d.getResultStatus()).isEqualTo(DecoderJNI.Status.DONE);
            return d.getDecompressedData();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aClientThatAcceptsGzipGetsTheBackendsBodyGzipped() {
        RawResponse r = get("/page", "Accept-Encoding: gzip");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("content-encoding")).isEqualTo("gzip");
        assertThat(gunzip(r.body())).isEqualTo(PAGE);
        assertThat(r.body().length).as("compressed").isLessThan(PAGE.length / 3);
    }

    @Test
    void brIsPreferredWhenTheClientAcceptsBothEqually() {
        RawResponse r = get("/page", "Accept-Encoding: gzip, deflate, br, zstd");
        assertThat(r.header("content-encoding")).isEqualTo("br");
        assertThat(unbrotli(r.body())).isEqualTo(PAGE);
    }

    @Test
    void theClientsQValuesDecide() {
        assertThat(get("/page", "Accept-Encoding: br;q=0.5, gzip").header("content-encoding")).isEqualTo("gzip");
        assertThat(get("/page", "Accept-Encoding: br;q=0, *").header("content-encoding")).isEqualTo("gzip");
        assertThat(get("/page", "Accept-Encoding: *").header("content-encoding")).isEqualTo("br");
        RawResponse refused = get("/page", "Accept-Encoding: gzip;q=0, br;q=0");
        assertThat(refused.header("content-encoding")).isNull();
        assertThat(refused.body()).isEqualTo(PAGE);
        assertThat(get("/page", "Accept-Encoding: identity").header("content-encoding")).isNull();
        assertThat(get("/page").header("content-encoding")).as("no Accept-Encoding").isNull();
        assertThat(get("/gz/page", "Accept-Encoding: br").header("content-encoding"))
                .as("a route offering gzip only").isNull();
        assertThat(gunzip(get("/gz/page", "Accept-Encoding: br, gzip;q=0.1").body())).isEqualTo(PAGE);
    }

    @Test
    void theCompressedHeadIsNginxs() {
        RawResponse r = get("/page", "Accept-Encoding: gzip");
        assertThat(r.header("content-length")).isNull();
        assertThat(r.framing()).isEqualTo(RawResponse.Framing.CHUNKED);
        assertThat(r.header("etag")).as("weakened: same resource, other bytes").isEqualTo("W/\"v1\"");
        assertThat(r.header("accept-ranges")).isNull();
        assertThat(r.headerValues("vary")).containsExactly("Cookie", "Accept-Encoding");
        assertThat(r.header("content-type")).isEqualTo("text/html; charset=utf-8");
        assertThat(r.connectionClose()).isFalse();
    }

    @Test
    void aCompressibleResponseVariesOnAcceptEncodingEvenWhenSentAsItIs() {
        RawResponse r = get("/page", "Accept-Encoding: identity");
        assertThat(r.header("content-encoding")).isNull();
        assertThat(r.headerValues("vary")).containsExactly("Cookie", "Accept-Encoding");
        assertThat(r.header("etag")).isEqualTo("\"v1\"");
        assertThat(r.header("content-length")).isEqualTo(String.valueOf(PAGE.length));
        assertThat(get("/image", "Accept-Encoding: gzip").header("vary")).as("never compressed: no Vary").isNull();
    }

    @Test
    void anyStatusWithABodyIsCompressedAndSoIsAChunkedBody() {
        RawResponse notFound = get("/json", "Accept-Encoding: gzip");
        assertThat(notFound.status()).isEqualTo(404);
        assertThat(gunzip(notFound.body())).isEqualTo(PAGE);
        RawResponse chunked = get("/chunked", "Accept-Encoding: br");
        assertThat(chunked.header("content-encoding")).isEqualTo("br");
        assertThat(unbrotli(chunked.body())).isEqualTo(PAGE);
    }

    @Test
    void responsesThatAreNotForCompressionGoOutAsTheyCame() {
        for (String path : new String[] {"/small", "/image", "/untyped", "/no-transform", "/range", "/plain/page"}) {
            RawResponse r = get(path, "Accept-Encoding: gzip, br");
            assertThat(r.header("content-encoding")).as(path).isNull();
            assertThat(r.header("content-length")).as(path).isEqualTo(String.valueOf(r.body().length));
        }
        assertThat(get("/small", "Accept-Encoding: gzip").body()).isEqualTo(text(1000));
        RawResponse encoded = get("/encoded", "Accept-Encoding: gzip, br");
        assertThat(encoded.headerValues("content-encoding")).containsExactly("gzip");
        assertThat(encoded.body()).as("not compressed twice").isEqualTo(PAGE);
        assertThat(get("/range", "Accept-Encoding: gzip").status()).isEqualTo(206);
        RawResponse noContent = get("/no-content", "Accept-Encoding: gzip");
        assertThat(noContent.status()).isEqualTo(204);
        assertThat(noContent.header("content-encoding")).isNull();
        RawResponse notModified = get("/not-modified", "Accept-Encoding: gzip");
        assertThat(notModified.status()).isEqualTo(304);
        assertThat(notModified.header("content-encoding")).isNull();
        assertThat(notModified.header("etag")).isEqualTo("\"v1\"");
        RawResponse head = request("HEAD", "/page", "Accept-Encoding: gzip");
        assertThat(head.header("content-encoding")).isNull();
        assertThat(head.header("content-length")).isEqualTo(String.valueOf(PAGE.length));
        RawResponse http10;
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            http10 = c.send("GET /page HTTP/1.0\r\nHost: app\r\nAccept-Encoding: gzip\r\n\r\n").readResponse(T);
        }
        assertThat(http10.header("content-encoding")).as("HTTP/1.0, as nginx's gzip_http_version 1.1").isNull();
        assertThat(http10.body()).isEqualTo(PAGE);
    }

    @Test
    void aStreamedBodyReachesTheClientAsItComesNotWhenTheBackendEnds() throws Exception {
        streaming = new CompletableFuture<>();
        try (RawHttpClient c = RawHttpClient.connect(gateway.address())) {
            c.send("GET /stream HTTP/1.1\r\nHost: app\r\nAccept-Encoding: gzip\r\n\r\n");
            BackendExchange backendSide = streaming.get(T.toSeconds(), TimeUnit.SECONDS);
            ChunkedGzip decoded = new ChunkedGzip();
            Await.until(T, () -> decoded.add(c.readRaw(Duration.ofMillis(20))).inflated().length == 4096,
                    "the first 4 KiB decoded while the backend's response is still open");
            assertThat(decoded.head()).contains("content-encoding: gzip");
            assertThat(decoded.inflated()).isEqualTo(java.util.Arrays.copyOfRange(PAGE, 0, 4096));

            backendSide.writeContent(java.util.Arrays.copyOfRange(PAGE, 4096, PAGE.length));
            backendSide.endResponse();
            Await.until(T, () -> decoded.add(c.readRaw(Duration.ofMillis(20))).ended(), "the last chunk");
            assertThat(decoded.inflated()).isEqualTo(PAGE);
        }
    }

    @Test
    void theAccessLogCountsTheBytesSent() {
        RawResponse gz = get("/page?log=gzip", "Accept-Encoding: gzip");
        RawResponse plain = get("/page?log=plain");
        // Other tests' lines may still be coming: wait for these two by their paths.
        Await.until(T, () -> line("/page?log=gzip").isPresent() && line("/page?log=plain").isPresent(), "two lines");
        JsonNode gzLine = line("/page?log=gzip").orElseThrow();
        JsonNode plainLine = line("/page?log=plain").orElseThrow();
        assertThat(gzLine.get("bytes_out").asLong()).isEqualTo(gz.body().length).isLessThan(PAGE.length / 3);
        assertThat(plainLine.get("bytes_out").asLong()).isEqualTo(plain.body().length).isEqualTo(PAGE.length);
    }

    private static java.util.Optional<JsonNode> line(String path) {
        return gateway.accessLogLines().stream().map(l -> {
            try {
                return JSON.readTree(l);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).filter(l -> l.path("path").asText().equals(path)).findFirst();
    }

    /** A chunked, gzipped response read as its bytes come: the head, then each whole chunk inflated. */
    private static final class ChunkedGzip {
        private final ByteArrayOutputStream raw = new ByteArrayOutputStream();
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final Inflater inflater = new Inflater(true);
        private int parsed = -1;
        private boolean gzipHeaderSkipped;
        private boolean ended;
        private String head = "";

        ChunkedGzip add(byte[] bytes) {
            raw.writeBytes(bytes);
            byte[] all = raw.toByteArray();
            if (parsed < 0) {
                String text = new String(all, StandardCharsets.ISO_8859_1);
                int end = text.indexOf("\r\n\r\n");
                if (end < 0) {
                    return this;
                }
                head = text.substring(0, end).toLowerCase(java.util.Locale.ROOT);
                parsed = end + 4;
            }
            while (!ended) {
                int lineEnd = indexOf(all, parsed);
                if (lineEnd < 0) {
                    break;
                }
                int size = Integer.parseInt(new String(all, parsed, lineEnd - parsed, StandardCharsets.US_ASCII).strip(), 16);
                if (all.length < lineEnd + 2 + size + 2) {
                    break;
                }
                if (size == 0) {
                    ended = true;
                } else {
                    inflate(java.util.Arrays.copyOfRange(all, lineEnd + 2, lineEnd + 2 + size));
                }
                parsed = lineEnd + 2 + size + 2;
            }
            return this;
        }

        private void inflate(byte[] compressed) {
            int from = 0;
            if (!gzipHeaderSkipped) {
                from = 10; // GZIPOutputStream's fixed header: no name, comment or extra field
                gzipHeaderSkipped = true;
            }
            inflater.setInput(compressed, from, compressed.length - from);
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = inflater.inflate(buf)) > 0) {
                    out.write(buf, 0, n);
                }
            } catch (DataFormatException e) {
                throw new AssertionError(e);
            }
        }

        private static int indexOf(byte[] a, int from) {
            for (int i = from; i + 1 < a.length; i++) {
                if (a[i] == '\r' && a[i + 1] == '\n') {
                    return i;
                }
            }
            return -1;
        }

        String head() {
            return head;
        }

        byte[] inflated() {
            return out.toByteArray();
        }

        boolean ended() {
            return ended;
        }
    }
}
