package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ListenerConfig;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * A listener's idle_timeout closes keep-alive client connections that wait between requests;
 * a connection that keeps sending, or whose request is still being answered, is never closed by it.
 */
class ClientIdleTimeoutTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final long IDLE_MS = 500;

    private static TestGateway gateway(TestBackend backend) throws Exception {
        return TestGateway.start(TestGateway.config(l -> new ListenerConfig(l.name(), l.address(),
                Duration.ofMillis(IDLE_MS), l.headerTimeout(), l.maxRequestLine(), l.maxHeaderSize(), l.maxHeaders(),
                l.trustedProxies(), l.bodyTimeout()), UnaryOperator.identity(), backend.address()));
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    }

    @Test
    void connectionsThatWaitLongerThanTheIdleTimeoutAreClosedEachNoSooner() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = gateway(backend)) {
            List<RawHttpClient> clients = new ArrayList<>();
            List<Long> lastActivity = new ArrayList<>();
            try {
                // One never sends a byte; the others each finish a request at a different time.
                // Each connection's idle clock starts after the moment noted (its connect or its
                // request), so it may not close sooner than the timeout after that moment.
                lastActivity.add(System.nanoTime());
                clients.add(RawHttpClient.connect(gw.address()));
                for (int i = 0; i < 3; i++) {
                    RawHttpClient c = RawHttpClient.connect(gw.address());
                    lastActivity.add(System.nanoTime());
                    assertThat(c.send(get("/" + i)).readResponse(T).status()).isEqualTo(200);
                    clients.add(c);
                    Thread.sleep(100); // staggered, so the list holds them in different expiry order
                }
                for (int i = 0; i < clients.size(); i++) {
                    assertThat(clients.get(i).awaitClosed(T)).isEqualTo(RawHttpClient.CloseKind.FIN);
                    long idleMs = (System.nanoTime() - lastActivity.get(i)) / 1_000_000;
                    assertThat(idleMs).as("connection %d closed after %d ms idle", i, idleMs)
                            .isGreaterThanOrEqualTo(IDLE_MS);
                }
            } finally {
                clients.forEach(RawHttpClient::close);
            }
        }
    }

    @Test
    void aConnectionThatKeepsSendingOutlivesTheIdleTimeoutThenClosesOnceQuiet() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = gateway(backend);
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            long start = System.nanoTime();
            int sent = 0;
            // Requests 100 ms apart for three idle timeouts: each one starts the idle clock again.
            while (System.nanoTime() - start < 3 * IDLE_MS * 1_000_000) {
                assertThat(c.send(get("/" + sent)).readResponse(T).status()).isEqualTo(200);
                sent++;
                Thread.sleep(100);
            }
            assertThat(c.closeKind()).isNull();
            assertThat(backend.connectionsAccepted()).isEqualTo(1);
            assertThat(c.awaitClosed(T)).isEqualTo(RawHttpClient.CloseKind.FIN);
            assertThat(sent).isGreaterThan(3);
        }
    }

    @Test
    void aRequestAnsweredSlowerThanTheIdleTimeoutIsNotCutOff() throws Exception {
        try (TestBackend backend = TestBackend.start(
                     BackendHandlers.delayed(Duration.ofMillis(3 * IDLE_MS), BackendHandlers.echo()));
             TestGateway gw = gateway(backend);
             RawHttpClient c = RawHttpClient.connect(gw.address())) {
            assertThat(c.send(get("/slow")).readResponse(T).status()).isEqualTo(200);
            long sent = System.nanoTime();
            assertThat(c.send(get("/slow-again")).readResponse(T).status()).isEqualTo(200);
            assertThat(c.awaitClosed(T)).isEqualTo(RawHttpClient.CloseKind.FIN);
            // Idle only from the response on: the backend's delay, then the whole idle timeout.
            assertThat((System.nanoTime() - sent) / 1_000_000).isGreaterThanOrEqualTo(4 * IDLE_MS);
        }
    }
}
