package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import dev.sluice.testing.TlsClients;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cleartext listener with {@code redirect_https} answers every request with a 308 to the same
 * host and target over HTTPS, without asking a route or a backend; the HTTPS listener serves it.
 */
class RedirectHttpsListenerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    static Path dir;
    static TestCertificates ca;
    static TestBackend backend;
    static TestGateway gateway;
    static int httpsPort;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCertificates.authority();
        ca.issue("shop.test").writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        backend = TestBackend.start(BackendHandlers.fixed(200, "secure shop"));
        httpsPort = dev.sluice.testing.Ports.freeLoopbackPort();
        gateway = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:%1$d
                    name: https
                    tls: { cert: %2$s/cert.pem, key: %2$s/key.pem }
                  - address: 127.0.0.1:0
                    name: http
                    redirect_https: %1$d
                  - address: 127.0.0.1:0
                    name: http-to-443
                    redirect_https: true
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%3$s]
                """.formatted(httpsPort, dir, backend.authority()));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        backend.close();
    }

    private static InetSocketAddress listener(int index) {
        return gateway.gateway().boundAddresses().get(index);
    }

    @Test
    void everyRequestIsRedirectedWithItsHostPathAndQueryAndTheHttpsListenerServesIt() throws Exception {
        RawResponse redirect;
        try (RawHttpClient client = RawHttpClient.connect(listener(1))) {
            redirect = client.send("GET /cart/items?page=2 HTTP/1.1\r\nHost: Shop.Test:8080\r\n\r\n").readResponse(WAIT);
        }

        assertThat(redirect.status()).isEqualTo(308);
        assertThat(redirect.header("location")).isEqualTo("https://shop.test:" + httpsPort + "/cart/items?page=2");
        assertThat(redirect.header("x-sluice-error")).isNull();
        assertThat(backend.requestCount()).as("no backend is asked").isZero();

        URI location = URI.create(redirect.header("location"));
        try (SSLSocket socket = TlsClients.connect(ca.sslContext(), listener(0), location.getHost(), "TLSv1.3");
             RawHttpClient https = RawHttpClient.over(socket)) {
            RawResponse served = https.send("GET " + location.getRawPath() + "?" + location.getRawQuery()
                    + " HTTP/1.1\r\nHost: shop.test\r\n\r\n").readResponse(WAIT);
            assertThat(served.status()).isEqualTo(200);
            assertThat(served.bodyString()).isEqualTo("secure shop");
        }
        assertThat(backend.lastRequest().uri()).isEqualTo("/cart/items?page=2");
        assertThat(backend.lastRequest().header("x-forwarded-proto")).isEqualTo("https");
    }

    @Test
    void toPort443TheUrlHasNoPortAndAPostKeepsItsConnection() {
        try (RawHttpClient client = RawHttpClient.connect(listener(2))) {
            RawResponse post = client.send("POST /login HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\n\r\nhello")
                    .readResponse(WAIT);
            assertThat(post.status()).as("308 keeps the method and body: the client posts again over HTTPS")
                    .isEqualTo(308);
            assertThat(post.header("location")).isEqualTo("https://shop.test/login");

            RawResponse next = client.send("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n").readResponse(WAIT);
            assertThat(next.status()).as("the same connection, kept alive").isEqualTo(308);
            assertThat(next.header("location")).isEqualTo("https://shop.test/");
        }
        // The line is written once the response is, a moment after the client read it.
        dev.sluice.testing.Await.until(WAIT, () -> gateway.accessLogLines().stream()
                .anyMatch(line -> line.contains("\"route\":\"redirect-https\"") && line.contains("\"status\":308")),
                "the redirect's access-log line");
    }
}
