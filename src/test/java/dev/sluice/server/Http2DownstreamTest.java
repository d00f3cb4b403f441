package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.PseudoRandomBody;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 from real clients over TLS: the JDK's HttpClient negotiates {@code h2} by ALPN and gets
 * its responses through Sluice from an HTTP/1.1 backend; GET and POST with bodies (of declared and
 * undeclared length), a large streamed response, many streams at once on one connection, and the
 * access log naming HTTP/2.0. A listener with {@code http2: false} offers HTTP/1.1 alone.
 */
class Http2DownstreamTest {
    static {
        // The test CA's certificates name hosts, not 127.0.0.1: which certificate came is not what is tested here.
        System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
    }

    @TempDir
    static Path dir;
    static TestCertificates ca;
    static TestBackend backend;
    static TestGateway gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCertificates.authority();
        ca.issue("h2.test").writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        backend = TestBackend.builder().handler(BackendHandlers.echo()).recordBodyLimit(1 << 20).start();
        gateway = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    name: secure
                    tls: { cert: %1$s/cert.pem, key: %1$s/key.pem }
                routes:
                  - match: { path_prefix: /download }
                    cluster: downloads
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%2$s]
                    concurrency: { limit: off }   # a burst of streams is what is tested, not the adaptive limit
                  - name: downloads
                    endpoints: [%3$s]
                """.formatted(dir, backend.authority(), downloads().authority()));
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).sslContext(ca.sslContext())
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    static TestBackend downloadBackend;

    static TestBackend downloads() {
        downloadBackend = TestBackend.start(BackendHandlers.download(3 * 1024 * 1024 + 17, true));
        return downloadBackend;
    }

    @AfterAll
    static void stop() {
        client.close();
        gateway.close();
        backend.close();
        downloadBackend.close();
    }

    static URI uri(String path) {
        return URI.create("https://127.0.0.1:" + gateway.address().getPort() + path);
    }

    @Test
    void aGetOverH2ReachesTheHttp11BackendAndComesBack() throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(uri("/hello?x=1"))
                .header("x-custom", "yes").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("via")).hasValue("1.1 sluice");
        assertThat(response.body()).contains("\"method\":\"GET\"").contains("\"uri\":\"/hello?x=1\"")
                .contains("\"version\":\"HTTP/1.1\"");
        var seen = backend.lastRequest();
        assertThat(seen.header("x-custom")).isEqualTo("yes");
        assertThat(seen.header("host")).isEqualTo("127.0.0.1:" + gateway.address().getPort());
        assertThat(seen.header("x-forwarded-proto")).isEqualTo("https");
        assertThat(seen.header("transfer-encoding")).isNull();
        Await.untilAsserted(Duration.ofSeconds(5), () -> assertThat(gateway.accessLogLines())
                .anySatisfy(line -> assertThat(line).contains("\"path\":\"/hello?x=1\"")
                        .contains("\"protocol\":\"HTTP/2.0\"").contains("\"status\":200")));
    }

    @Test
    void postBodiesOfDeclaredAndUndeclaredLengthArriveWhole() throws Exception {
        byte[] body = "a body sent over HTTP/2".repeat(500).getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> declared = client.send(HttpRequest.newBuilder(uri("/upload"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(declared.statusCode()).isEqualTo(200);
        assertThat(declared.body()).contains("\"method\":\"POST\"").contains("\"bodyLength\":" + body.length);
        assertThat(backend.lastRequest().header("content-length")).isEqualTo(String.valueOf(body.length));

        // A publisher of unknown length: no content-length, so the backend gets it chunked.
        HttpResponse<String> streamed = client.send(HttpRequest.newBuilder(uri("/upload"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(streamed.body()).contains("\"bodyLength\":" + body.length);
        assertThat(backend.lastRequest().header("transfer-encoding")).isEqualTo("chunked");
        assertThat(backend.lastRequest().bodyString()).isEqualTo(new String(body, StandardCharsets.UTF_8));
    }

    @Test
    void aLargeResponseStreamsThroughWithFlowControl() throws Exception {
        long size = 3 * 1024 * 1024 + 17;
        HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(uri("/download")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).hasSize((int) size);
        assertThat(dev.sluice.testing.Sha256.hex(response.body())).isEqualTo(PseudoRandomBody.sha256(size));
    }

    @Test
    void manyStreamsAtOnceOnOneConnectionAreEachAnswered() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            sent.add(client.sendAsync(HttpRequest.newBuilder(uri("/many/" + i)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < sent.size(); i++) {
            HttpResponse<String> response = sent.get(i).get();
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(response.body()).contains("\"uri\":\"/many/" + i + "\"");
        }
    }

    @Test
    void alpnChoosesH2WhenOfferedAndHttp11ForAClientWithoutIt() throws Exception {
        assertThat(negotiated(gateway, "h2", "http/1.1")).isEqualTo("h2");
        assertThat(negotiated(gateway, "http/1.1")).isEqualTo("http/1.1");
        try (TestGateway h1Only = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    tls: { cert: %1$s/cert.pem, key: %1$s/key.pem }
                    http2: false
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%2$s]
                """.formatted(dir, backend.authority()))) {
            assertThat(negotiated(h1Only, "h2", "http/1.1")).isEqualTo("http/1.1");
        }
    }

    static String negotiated(TestGateway target, String... protocols) throws Exception {
        try (SSLSocket socket = (SSLSocket) ca.sslContext().getSocketFactory().createSocket()) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(protocols);
            socket.setSSLParameters(parameters);
            socket.connect(target.address(), 5_000);
            socket.startHandshake();
            return socket.getApplicationProtocol();
        }
    }
}
