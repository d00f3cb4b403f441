package dev.sluice.server;

import static dev.sluice.server.RawH2Client.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.BackendExchange;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.TestBackend;
import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A stream whose exchange ends while the stream is not being read (its body had nowhere to go)
 * and DATA from the client is already queued in its stream channel. Netty closes an ended
 * stream's channel only once that queue is empty, so such a stream must be read on and its DATA
 * dropped: otherwise the channel stays open for ever, holding its frames (slices of the
 * connection's read buffers, which the leak detector then reports) and keeping the connection
 * from ever being idle.
 */
class Http2UnreadBodyTest {
    static TestBackend backend;
    static TestBackend auth;
    static TestGateway gateway;
    /** The auth service's checks, held unanswered until the test answers them. */
    static final BlockingQueue<BackendExchange> checks = new LinkedBlockingQueue<>();

    @BeforeAll
    static void start() throws Exception {
        backend = TestBackend.start(BackendHandlers.echo());
        auth = TestBackend.start(checks::add);
        gateway = TestGateway.fromYaml("""
                listeners:
                  - address: 127.0.0.1:0
                    idle_timeout: 300ms
                    http2: { h2c: true }
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                    forward_auth: { cluster: auth, path: /check }
                clusters:
                  - name: app
                    endpoints: [%s]
                  - name: auth
                    endpoints: [%s]
                """.formatted(backend.authority(), auth.authority()));
    }

    @AfterAll
    static void stop() {
        gateway.close();
        auth.close();
        backend.close();
    }

    @Test
    void dataQueuedOnAStreamAnsweredWhileItWasNotReadIsDroppedAndTheStreamCloses() throws Exception {
        try (RawH2Client client = new RawH2Client(gateway.address())) {
            // The body waits for the auth service's yes: the stream is not read meanwhile.
            client.headers(1, request("POST", "/upload"), false);
            BackendExchange check = checks.poll(10, TimeUnit.SECONDS);
            assertThat(check).as("the auth service was asked").isNotNull();
            // Sent only now, so it arrives in a read of its own, after the stream stopped reading:
            // it is queued in the stream's channel. The PING's answer says the frame was read.
            client.data(1, new byte[4096], false);
            pingRoundTrip(client);
            check.respond(403, "no");
            assertThat(client.status(1)).isEqualTo(403);
            // The stream's channel closed with its queue dropped: no stream left open, the
            // connection goes idle and its idle timeout closes it.
            assertThat(client.closedByServer()).as("the idle connection closed by Sluice").isTrue();
        }
        assertThat(backend.requestCount()).as("the refused request never reached the backend").isZero();
    }

    private static void pingRoundTrip(RawH2Client client) throws IOException {
        client.frame(RawH2Client.PING, 0, 0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        client.flush();
        RawH2Client.Frame answer;
        do {
            answer = client.next();
        } while (answer != null && answer.type() != RawH2Client.PING);
        assertThat(answer).as("the PING's acknowledgement").isNotNull();
    }
}
