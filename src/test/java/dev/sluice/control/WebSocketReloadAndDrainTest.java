package dev.sluice.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.Instance;
import dev.sluice.testing.WebSocketClient;
import dev.sluice.testing.WebSocketEchoBackend;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An open WebSocket tunnel is not cut by a config reload, shows in /status, and is closed by a drain at its timeout. */
class WebSocketReloadAndDrainTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Duration LONG_BAKE = Duration.ofMinutes(10);

    @TempDir
    Path dir;

    private static String config(WebSocketEchoBackend echo, String extraRoute) {
        return """
                listeners:
                  - address: 127.0.0.1:0
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
                """.formatted(extraRoute, echo.authority());
    }

    private static URI ws(InProcessSluice sluice) {
        return URI.create("ws://127.0.0.1:" + sluice.listener().getPort() + "/ws");
    }

    @Test
    void aTunnelSurvivesAReloadThatChangesTheRoutes() throws Exception {
        try (WebSocketEchoBackend echo = new WebSocketEchoBackend();
             InProcessSluice sluice = InProcessSluice.start(config(echo, ""), dir, LONG_BAKE);
             WebSocketClient client = WebSocketClient.connect(ws(sluice))) {
            assertThat(client.echo("before")).isEqualTo("before");
            assertThat(sluice.admin().get("/status").json().path("websocket_tunnels").asInt()).isEqualTo(1);

            sluice.writeConfig(config(echo, "\n  - match: { path: /robots.txt }\n    respond: { body: \"User-agent: *\" }"));
            AdminHttp.Answer reload = sluice.admin().post("/reload");

            assertThat(reload.status()).as(reload.body()).isEqualTo(200);
            assertThat(reload.json().path("unchanged").asBoolean()).isFalse();
            assertThat(client.echo("after the reload")).isEqualTo("after the reload");
        }
    }

    @Test
    void aDrainClosesAnOpenTunnelAtItsTimeout() throws Exception {
        try (WebSocketEchoBackend echo = new WebSocketEchoBackend();
             InProcessSluice sluice = InProcessSluice.start(config(echo, ""), dir, LONG_BAKE);
             WebSocketClient client = WebSocketClient.connect(ws(sluice))) {
            assertThat(client.echo("hello")).isEqualTo("hello");

            sluice.instance().drain("test");

            assertThat(client.echo("still open while the drain waits")).isEqualTo("still open while the drain waits");
            Instance.Stopped stopped = sluice.instance().stopped().get(10, TimeUnit.SECONDS);
            assertThat(stopped.summary()).contains("drain");
            assertThat(client.awaitEnd(WAIT)).isNotNull();
        }
    }
}
