package dev.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.PseudoRandomBody;
import dev.sluice.testing.Sha256;
import dev.sluice.testing.TestBackend;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 256 MiB each way through a Sluice process whose heap is 64 MiB (and so is its direct memory,
 * which Netty caps at the heap size by default): bodies must stream, never be held.
 */
class StreamingTest {
    private static final long SIZE = 256L * 1024 * 1024;
    private static final Duration T = Duration.ofMinutes(2);

    @TempDir
    static Path dir;
    private static TestBackend uploads;
    private static TestBackend downloads;
    private static TestBackend chunkedDownloads;
    private static SluiceProcess sluice;
    private static InetSocketAddress address;
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        uploads = TestBackend.start(BackendHandlers.hash());
        downloads = TestBackend.start(BackendHandlers.download(SIZE, false));
        chunkedDownloads = TestBackend.start(BackendHandlers.download(SIZE, true));
        sluice = SluiceProcess.run("""
                server: { event_loop_threads: 1 }
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: /up }
                    cluster: up
                  - match: { path_prefix: /down-chunked }
                    cluster: down-chunked
                  - match: { path_prefix: /down }
                    cluster: down
                clusters:
                  - name: up
                    endpoints: [%s]
                  - name: down
                    endpoints: [%s]
                  - name: down-chunked
                    endpoints: [%s]
                access_log: false
                """.formatted(uploads.authority(), downloads.authority(), chunkedDownloads.authority()),
                dir, List.of("-Xmx64m", "-XX:+UseSerialGC"));
        address = sluice.awaitListening(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        uploads.close();
        downloads.close();
        chunkedDownloads.close();
    }

    private static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + address.getPort() + path);
    }

    @Test
    void chunkedUploadOf256MiBArrivesByteForByte() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(uri("/up/chunked"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> PseudoRandomBody.stream(SIZE))).timeout(T).build();
        HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-body-sha256")).hasValue(PseudoRandomBody.sha256(SIZE));
        assertThat(r.headers().firstValueAsLong("x-body-length")).hasValue(SIZE);
    }

    @Test
    void sizedUploadOf256MiBArrivesByteForByte() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(uri("/up/sized"))
                .POST(HttpRequest.BodyPublishers.fromPublisher(
                        HttpRequest.BodyPublishers.ofInputStream(() -> PseudoRandomBody.stream(SIZE)), SIZE))
                .timeout(T).build();
        HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-body-sha256")).hasValue(PseudoRandomBody.sha256(SIZE));
    }

    @Test
    void downloadsOf256MiBArriveByteForByte() throws Exception {
        for (String path : List.of("/down", "/down-chunked")) {
            HttpResponse<Sha256.Digest> r = client.send(HttpRequest.newBuilder(uri(path)).timeout(T).build(),
                    Sha256.bodyHandler());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body().length()).as(path).isEqualTo(SIZE);
            assertThat(r.body().hex()).as(path).isEqualTo(PseudoRandomBody.sha256(SIZE));
        }
    }
}
