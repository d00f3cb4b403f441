package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.testing.Await;
import dev.sluice.testing.H2Backend;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * {@code clusters[].http2: { ping_interval, ping_timeout }} on real sockets, one event loop so
 * every request would share one connection to the backend: a connection that goes silent is found
 * by its unanswered PING, closed, and its streams fail as for any lost connection (a POST 502
 * {@code reset_before_response}, a GET sent again on a new connection); a quiet connection that
 * answers its PING is kept.
 */
class Http2KeepaliveTest {
    private static final Duration T = Duration.ofSeconds(20);

    private static String config(String endpoint, String pingTimeout) {
        return Http2UpstreamTest.h2cCluster(endpoint, true, "idle_timeout: 30s",
                "http2: { ping_interval: 200ms, ping_timeout: " + pingTimeout + " }");
    }

    private static RawResponse send(TestGateway gateway, String request) {
        try (RawHttpClient client = RawHttpClient.connect(gateway.address())) {
            return client.send(request).readResponse(T);
        }
    }

    @Test
    void aConnectionThatGoesSilentIsClosedByItsUnansweredPingAndTheNextRequestGoesOnAFreshOne() throws Exception {
        // Each close is a warning for the operator: captured here, not printed.
        Logger keepalive = (Logger) LoggerFactory.getLogger("dev.sluice.upstream.Http2Keepalive");
        ListAppender<ILoggingEvent> warnings = new ListAppender<>();
        warnings.start();
        keepalive.addAppender(warnings);
        keepalive.setAdditive(false);
        try (H2Backend backend = H2Backend.silentFirst(2);
             // 2 s: the live third connection must answer its PINGs within it on a busy machine too.
             TestGateway gateway = TestGateway.fromYaml(config(backend.authority(), "2s"))) {
            RawResponse post = send(gateway, "POST /orders HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
            assertThat(post.status()).isEqualTo(502);
            assertThat(post.header("x-sluice-error")).as("a POST is not sent again").isEqualTo("reset_before_response");
            assertThat(backend.pings()).isGreaterThanOrEqualTo(1);

            // The second connection goes silent too: the GET on it is sent again on a third, which answers.
            RawResponse get = send(gateway, "GET /catalog HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(get.status()).isEqualTo(200);
            assertThat(get.header("x-seen-path")).isEqualTo("/catalog");
            assertThat(backend.connections()).isEqualTo(3);
            Await.untilAsserted(T, () -> assertThat(gateway.accessLogLines())
                    .anySatisfy(line -> assertThat(line).contains("\"path\":\"/catalog\"")
                            .contains("\"failure\":\"reset_before_response\"").contains("\"status\":200")));

            assertThat(send(gateway, "GET /again HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(200);
            assertThat(backend.connections()).as("the third connection, kept").isEqualTo(3);
            Await.until(T, () -> backend.openConnections() == 1, "the silent connections closed by Sluice");
            assertThat(warnings.list).extracting(ILoggingEvent::getFormattedMessage).hasSize(2)
                    .allSatisfy(line -> assertThat(line).isEqualTo("HTTP/2 connection to " + backend.authority()
                            + ": no answer to a PING within 2000 ms; closed, 1 stream(s) on it fail"));
        } finally {
            keepalive.detachAppender(warnings);
            keepalive.setAdditive(true);
        }
    }

    @Test
    void aQuietConnectionThatAnswersItsPingIsKept() throws Exception {
        try (H2Backend backend = H2Backend.answeringOncePinged();
             TestGateway gateway = TestGateway.fromYaml(config(backend.authority(), "10s"))) {
            // Answered only once the backend had a PING: Sluice asked about its quiet connection.
            RawResponse slow = send(gateway, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(slow.status()).isEqualTo(200);
            assertThat(backend.pings()).isGreaterThanOrEqualTo(1);

            assertThat(send(gateway, "GET /again HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(200);
            assertThat(backend.connections()).as("the pinged connection, reused").isEqualTo(1);
            assertThat(backend.openConnections()).isEqualTo(1);
        }
    }
}
