package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ConfigLoader;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** An endpoint removed by a reload takes no new requests and its idle connections close at once. */
class EndpointRetirementTest {
    private static final Duration T = Duration.ofSeconds(10);

    private static String yaml(String... endpoints) {
        return """
                listeners:
                  - address: 127.0.0.1:0
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    load_balancer: round_robin
                    idle_timeout: 60s   # so only the retirement, not expiry, can close the pooled connection
                    endpoints: [%s]
                """.formatted(String.join(", ", endpoints));
    }

    @Test
    void removedEndpointsIdleConnectionsCloseAndTrafficMovesOn() throws Exception {
        try (TestBackend kept = TestBackend.start(BackendHandlers.fixed(200, "kept"));
             TestBackend removed = TestBackend.start(BackendHandlers.fixed(200, "removed"));
             TestGateway gw = TestGateway.fromYaml(yaml(kept.authority(), removed.authority()));
             RawHttpClient client = RawHttpClient.connect(gw.address())) {
            for (int i = 0; i < 4; i++) {
                assertThat(client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T).status()).isEqualTo(200);
            }
            assertThat(removed.openConnections()).isEqualTo(1); // pooled, idle
            gw.gateway().apply(ConfigLoader.parse(yaml(kept.authority()), "<reload>"));
            Await.until(T, () -> removed.openConnections() == 0, "the removed endpoint's idle connection closed");
            int before = removed.requestCount();
            for (int i = 0; i < 4; i++) {
                assertThat(client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").readResponse(T).bodyString()).isEqualTo("kept");
            }
            assertThat(removed.requestCount()).isEqualTo(before);
        }
    }
}
