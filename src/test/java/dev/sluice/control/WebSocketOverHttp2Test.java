package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Instance;
import dev.sluice.testing.Http2WebSocketClient;
import dev.sluice.testing.WebSocketEchoBackend;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2ResetFrame;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WebSocket over HTTP/2 (RFC 8441) on real sockets: an extended CONNECT stream through Sluice
 * (h2c) to an HTTP/1.1 WebSocket echo server, as a browser with an HTTP/2 connection opens one.
 * The same tunnel as over HTTP/1.1: counted in /status, untouched by a reload, closed when idle
 * and by a drain at its timeout.
 */
class WebSocketOverHttp2Test {
    private static final Duration LONG_BAKE = Duration.ofMinutes(10);

    @TempDir
    Path dir;

    private static String config(WebSocketEchoBackend echo, String extraRoute, String idle) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                    http2: { h2c: true }
                    websocket_idle_timeout: %s
                routes:%s
                  - match: { path_prefix: / }
                    cluster: chat
                clusters:
                  - name: chat
                    endpoints: [%s]
                admin:
                  address: 127.0.0.1:0
                access_log: off
                drain: { delay: 0s, timeout: 500ms }
                """.formatted(idle, extraRoute, echo.authority());
    }

    @Test
    void anExtendedConnectBecomesAWebSocketToTheEndpointAndEchoes() throws Exception {
        try (WebSocketEchoBackend echo = new WebSocketEchoBackend();
             InProcessSluice sluice = InProcessSluice.start(config(echo, "", "300s"), dir, LONG_BAKE);
             Http2WebSocketClient client = Http2WebSocketClient.connect(sluice.listener())) {
            // RFC 8441 §3: the server says it takes extended CONNECT.
            assertThat(client.serverSettings().connectProtocolEnabled()).isTrue();
            Http2WebSocketClient.Stream ws = client.open(Http2WebSocketClient.webSocketConnect("chat.test", "/ws"));
            Http2Headers response = ws.response();
            assertThat(response.status()).hasToString("200");
            assertThat(response.contains("sec-websocket-accept")).as("HTTP/2 has no key to answer").isFalse();
            assertThat(response.contains("upgrade")).isFalse();
            assertThat(ws.echo("hello over h2")).isEqualTo("hello over h2");
            assertThat(ws.echo("x".repeat(100_000))).as("a message larger than a window").hasSize(100_000);
            assertThat(sluice.admin().get("/status").json().path("websocket_tunnels").asInt()).isEqualTo(1);
            // A second stream on the same connection is a second tunnel.
            Http2WebSocketClient.Stream other = client.open(Http2WebSocketClient.webSocketConnect("chat.test", "/ws"));
            assertThat(other.response().status()).hasToString("200");
            assertThat(other.echo("second")).isEqualTo("second");
            assertThat(ws.echo("first still")).isEqualTo("first still");
            assertThat(echo.openConnections()).isEqualTo(2);
        }
    }

    @Test
    void aTunnelOverHttp2SurvivesAReloadThatChangesTheRoutes() throws Exception {
        try (WebSocketEchoBackend echo = new WebSocketEchoBackend();
             InProcessSluice sluice = InProcessSluice.start(config(echo, "", "300s"), dir, LONG_BAKE);
             Http2WebSocketClient client = Http2WebSocketClient.connect(sluice.listener())) {
            Http2WebSocketClient.Stream ws = client.open(Http2WebSocketClient.webSocketConnect("chat.test", "/ws"));
            assertThat(ws.response().status()).hasToString("200");
            assertThat(ws.echo("before")).isEqualTo("before");

            sluice.writeConfig(config(echo, "\n  - match: { path: /robots.txt }\n    respond: { body: \"User-agent: *\" }",
                    "300s"));
            AdminHttp.Answer reload = sluice.admin().post("/reload");

            assertThat(reload.status()).as(reload.body()).isEqualTo(200);
            assertThat(reload.json().path("unchanged").asBoolean()).isFalse();
            assertThat(ws.echo("after the reload")).isEqualTo("after the reload");
        }
    }

    @Test
    void aConnectWithoutProtocolOrForAnotherProtocolIsRefused() throws Exception {
        try (WebSocketEchoBackend echo = new WebSocketEchoBackend();
             InProcessSluice sluice = InProcessSluice.start(config(echo, "", "300s"), dir, LONG_BAKE);
             Http2WebSocketClient client = Http2WebSocketClient.connect(sluice.listener())) {
            Http2Headers plainConnect = Http2WebSocketClient.webSocketConnect("chat.test", "/ws");
            plainConnect.remove(":protocol");
            Http2Headers otherProtocol = Http2WebSocketClient.webSocketConnect("chat.test", "/ws");
            otherProtocol.set(":protocol", "connect-udp");
            for (Http2Headers refused : new Http2Headers[] {plainConnect, otherProtocol}) {
                Http2WebSocketClient.Stream stream = client.open(refused);
                assertThat(stream.next()).as(refused.toString()).isInstanceOfSatisfying(Http2ResetFrame.class,
                        reset -> assertThat(reset.errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code()));
            }
            assertThat(echo.openConnections()).as("nothing reached the endpoint").isZero();
            Http2WebSocketClient.Stream ws = client.open(Http2WebSocketClient.webSocketConnect("chat.test", "/ws"));
            assertThat(ws.response().status()).as("the connection still serves").hasToString("200");
        }
    }

    @Test
    void anIdleTunnelIsResetAndADrainEndsAnOpenOneAtItsTimeout() throws Exception {
        try (WebSocketEchoBackend echo = new WebSocketEchoBackend();
             InProcessSluice sluice = InProcessSluice.start(config(echo, "", "1s"), dir, LONG_BAKE);
             Http2WebSocketClient client = Http2WebSocketClient.connect(sluice.listener())) {
            Http2WebSocketClient.Stream idle = client.open(Http2WebSocketClient.webSocketConnect("chat.test", "/ws"));
            assertThat(idle.response().status()).hasToString("200");
            assertThat(idle.echo("then nothing")).isEqualTo("then nothing");
            assertThat(idle.untilEnd()).as("reset once idle for websocket_idle_timeout")
                    .anySatisfy(e -> assertThat(e).isInstanceOf(Http2ResetFrame.class));

            Http2WebSocketClient.Stream ws = client.open(Http2WebSocketClient.webSocketConnect("chat.test", "/ws"));
            assertThat(ws.response().status()).hasToString("200");
            sluice.instance().drain("test");
            assertThat(ws.echo("still open while the drain waits")).isEqualTo("still open while the drain waits");
            Instance.Stopped stopped = sluice.instance().stopped().get(10, TimeUnit.SECONDS);
            assertThat(stopped.summary()).contains("drain");
            assertThat(ws.untilEnd()).last().isEqualTo(Http2WebSocketClient.Stream.Ended.INSTANCE);
        }
    }
}
