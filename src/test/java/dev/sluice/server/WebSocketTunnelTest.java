package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import dev.sluice.testing.TestCertificates;
import dev.sluice.testing.WebSocketClient;
import dev.sluice.testing.WebSocketEchoBackend;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A WebSocket upgrade goes through Sluice to the backend, and on its 101 the two connections
 * become a byte tunnel: echoed messages both ways (over TLS too), counted while open, closed
 * when idle for the listener's {@code websocket_idle_timeout}; other upgrades stay plain HTTP.
 */
class WebSocketTunnelTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    static Path dir;
    static TestCertificates ca;
    static WebSocketEchoBackend echo;
    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCertificates.authority();
        ca.issue("chat.test", "127.0.0.1").writeTo(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        echo = new WebSocketEchoBackend();
        gateway = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    name: plain
                  - address: 127.0.0.1:0
                    name: secure
                    tls: { cert: %1$s/cert.pem, key: %1$s/key.pem }
                  - address: 127.0.0.1:0
                    name: quick
                    websocket_idle_timeout: 300ms
                routes:
                  - match: { path_prefix: / }
                    cluster: chat
                clusters:
                  - name: chat
                    endpoints: [%2$s]
                """.formatted(dir, echo.authority()));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        echo.close();
    }

    private static URI ws(int listener, String scheme) {
        return URI.create(scheme + "://127.0.0.1:" + gateway.gateway().boundAddresses().get(listener).getPort() + "/ws");
    }

    @Test
    void messagesAreEchoedThroughTheTunnelWhichIsCountedWhileOpen() throws Exception {
        try (WebSocketClient client = WebSocketClient.connect(ws(0, "ws"))) {
            assertThat(client.echo("hello")).isEqualTo("hello");
            String large = "x".repeat(256 * 1024);
            String echoed = client.echo(large);
            assertThat(echoed.length()).as("a message larger than the sockets' buffers").isEqualTo(large.length());
            assertThat(echoed).isEqualTo(large);
            assertThat(client.echo("again")).isEqualTo("again");
            assertThat(gateway.gateway().openTunnels()).isEqualTo(1);
            assertThat(gateway.gateway().metrics().scrape()).contains("sluice_websocket_tunnels 1.0");
        }
        Await.until(WAIT, () -> gateway.gateway().openTunnels() == 0 && echo.openConnections() == 0,
                "the tunnel and its upstream connection closed");
        assertThat(gateway.accessLogLines()).anySatisfy(line -> assertThat(line)
                .contains("\"path\":\"/ws\"").contains("\"status\":101"));
    }

    @Test
    void aTunnelWorksOverTls() throws Exception {
        try (WebSocketClient client = WebSocketClient.connect(ws(1, "wss"), ca.sslContext())) {
            assertThat(client.echo("over tls")).isEqualTo("over tls");
        }
    }

    @Test
    void aTunnelIdleForTheListenersTimeoutIsClosedBothWays() throws Exception {
        try (WebSocketClient client = WebSocketClient.connect(ws(2, "ws"))) {
            assertThat(client.echo("still here")).isEqualTo("still here");

            assertThat(client.awaitEnd(WAIT)).as("closed by Sluice after 300ms of silence").isNotNull();
            Await.until(WAIT, () -> echo.openConnections() == 0, "the backend's side closed too");
        }
    }

    @Test
    void anH2cUpgradeIsNotForwardedAndTheRequestIsServedAsPlainHttp() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "plain"));
             TestGateway plain = TestGateway.proxyTo(backend.address());
             RawHttpClient client = RawHttpClient.connect(plain.address())) {
            RawResponse response = client.send("GET / HTTP/1.1\r\nHost: test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n").readResponse(WAIT);

            assertThat(response.status()).isEqualTo(200);
            assertThat(backend.lastRequest().header("upgrade")).isNull();
            assertThat(backend.lastRequest().header("http2-settings")).isNull();
        }
    }
}
