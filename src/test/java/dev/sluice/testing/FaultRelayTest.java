package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FaultRelayTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    @Test
    void relayForwardsBothWaysAndCountsConnectionsAndBytes() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "hello"));
             FaultRelay relay = FaultRelay.start(backend.address())) {
            RawResponse r;
            try (RawHttpClient client = RawHttpClient.connect(relay.port())) {
                client.send(GET);
                r = client.readResponse(WAIT);
                assertThat(relay.openConnections()).isEqualTo(1);
            }

            assertThat(r.bodyString()).isEqualTo("hello");
            assertThat(relay.connectionsAccepted()).isEqualTo(1);
            assertThat(relay.bytesUpstream()).isEqualTo(GET.length());
            assertThat(relay.bytesDownstream()).isEqualTo(r.raw().length);
            relay.awaitOpenConnections(0, WAIT);
            Await.until(WAIT, () -> backend.openConnections() == 0, "backend side closed too");
        }
    }

    @Test
    void relayResetsBothSidesAfterConfiguredBytes() throws Exception {
        try (TcpTestServer target = TcpTestServer.start();
             FaultRelay relay = FaultRelay.start(target.address())) {
            relay.resetAfterBytes(10);
            try (RawHttpClient client = RawHttpClient.connect(relay.port())) {
                Socket upstream = target.accept(WAIT);
                client.send("0123456789abcdef");

                assertThat(TcpTestServer.readExactly(upstream, 10, WAIT)).asString().isEqualTo("0123456789");
                assertThat(TcpTestServer.readUntilClosed(upstream, WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
                assertThat(client.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
                assertThat(relay.bytesUpstream()).isEqualTo(10);
                assertThat(relay.resets()).isEqualTo(1);
            }
        }
    }

    @Test
    void resetAfterExactlyOneRequestKillsTheConnectionBeforeTheResponse() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.fixed(200, "never seen"));
             FaultRelay relay = FaultRelay.start(backend.address());
             RawHttpClient client = RawHttpClient.connect(relay.port())) {
            relay.resetAfterBytes(GET.length());
            client.send(GET);

            assertThat(client.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
            assertThat(client.readRaw(Duration.ZERO)).isEmpty();
            assertThat(backend.awaitRequests(1, WAIT).get(0).complete()).isTrue();
            assertThat(relay.bytesDownstream()).isZero();
        }
    }

    @Test
    void resetAfterBytesCountsFromWhenItWasSetOnOpenConnections() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             FaultRelay relay = FaultRelay.start(backend.address());
             RawHttpClient client = RawHttpClient.connect(relay.port())) {
            client.send(GET);
            assertThat(client.readResponse(WAIT).status()).isEqualTo(200);

            relay.resetAfterBytes(0);
            client.send(GET);

            assertThat(client.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
            assertThat(backend.requestCount()).isEqualTo(1);
        }
    }

    @Test
    void resetNextResponseIsOneShot() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             FaultRelay relay = FaultRelay.start(backend.address())) {
            relay.resetNextResponse();
            try (RawHttpClient first = RawHttpClient.connect(relay.port())) {
                first.send(GET);
                assertThat(first.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
                assertThat(first.readRaw(Duration.ZERO)).isEmpty();
            }
            try (RawHttpClient second = RawHttpClient.connect(relay.port())) {
                second.send(GET);
                assertThat(second.readResponse(WAIT).status()).isEqualTo(200);
            }
            assertThat(backend.requestCount()).isEqualTo(2);
        }
    }

    @Test
    void truncateNextResponseForwardsOnlyThePrefixThenResets() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.download(100_000, false));
             FaultRelay relay = FaultRelay.start(backend.address());
             RawHttpClient client = RawHttpClient.connect(relay.port())) {
            relay.truncateNextResponse(500);
            client.send(GET);

            assertThatThrownBy(() -> client.readResponse(WAIT))
                    .isInstanceOfSatisfying(RawHttpClient.PeerClosedException.class, e -> {
                        assertThat(e.kind()).isEqualTo(RawHttpClient.CloseKind.RESET);
                        assertThat(e.partial()).hasSize(500);
                    });
        }
    }

    @Test
    void delayAddsLatencyInEachDirection() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             FaultRelay relay = FaultRelay.start(backend.address());
             RawHttpClient client = RawHttpClient.connect(relay.port())) {
            relay.delay(Duration.ofMillis(150));
            long start = System.nanoTime();
            client.send(GET);

            assertThat(client.readResponse(WAIT).status()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));

            relay.delay(Duration.ZERO);
            long again = System.nanoTime();
            client.send(GET);
            assertThat(client.readResponse(WAIT).status()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - again)).isLessThan(Duration.ofMillis(300));
        }
    }

    @Test
    void delayedBulkTransferArrivesIntactAndInOrder() throws Exception {
        long size = 8L * 1024 * 1024;
        try (TestBackend backend = TestBackend.start(BackendHandlers.download(size, true));
             FaultRelay relay = FaultRelay.start(backend.address());
             java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            relay.delay(Duration.ofMillis(5));
            var response = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://" + relay.authority() + "/")).build(), Sha256.bodyHandler());

            assertThat(response.body().hex()).isEqualTo(PseudoRandomBody.sha256(size));
        }
    }

    @Test
    void closeWhenIdleClosesAnIdleConnectionWithFin() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             FaultRelay relay = FaultRelay.start(backend.address());
             RawHttpClient client = RawHttpClient.connect(relay.port())) {
            long sent = System.nanoTime(); // the relay's last activity (reading the response) comes after this
            client.send(GET);
            assertThat(client.readResponse(WAIT).status()).isEqualTo(200);

            relay.closeWhenIdle(Duration.ofMillis(300));

            assertThat(client.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.FIN);
            assertThat(Duration.ofNanos(System.nanoTime() - sent)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
            assertThat(relay.idleCloses()).isEqualTo(1);
            Await.until(WAIT, () -> backend.openConnections() == 0, "backend side closed");
        }
    }

    @Test
    void writingIntoAnIdleClosedConnectionGetsAReset() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             FaultRelay relay = FaultRelay.start(backend.address());
             Socket socket = new Socket(relay.address().getAddress(), relay.port())) {
            relay.closeWhenIdle(Duration.ofMillis(100));
            Await.until(WAIT, () -> relay.idleCloses() == 1, "the relay to close the idle connection");

            OutputStream out = socket.getOutputStream();
            out.write(GET.getBytes(StandardCharsets.US_ASCII));
            socket.setSoTimeout((int) WAIT.toMillis());
            // The first read sees the relay's FIN; the bytes written into the closed connection draw an RST.
            assertThat(socket.getInputStream().read()).isEqualTo(-1);
            assertThatThrownBy(() -> {
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (System.nanoTime() - deadline < 0) {
                    out.write(GET.getBytes(StandardCharsets.US_ASCII));
                    java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                }
            }).isInstanceOf(java.net.SocketException.class);
        }
    }

    @Test
    void refusedRelayReacceptsOnTheSamePort() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             FaultRelay relay = FaultRelay.start(backend.address())) {
            int port = relay.port();
            try (RawHttpClient kept = RawHttpClient.connect(port)) {
                relay.awaitOpenConnections(1, WAIT); // accepted, not just queued in the backlog
                relay.refuse();

                assertThatThrownBy(() -> RawHttpClient.connect(port))
                        .isInstanceOf(UncheckedIOException.class)
                        .hasCauseInstanceOf(ConnectException.class);
                kept.send(GET);
                assertThat(kept.readResponse(WAIT).status()).isEqualTo(200);

                relay.accept();
                assertThat(relay.port()).isEqualTo(port);
                try (RawHttpClient fresh = RawHttpClient.connect(port)) {
                    fresh.send(GET);
                    assertThat(fresh.readResponse(WAIT).status()).isEqualTo(200);
                }
            }
        }
    }

    @Test
    void blackholeAcceptsButNeverAnswersUntilHealed() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             FaultRelay relay = FaultRelay.start(backend.address())) {
            relay.blackhole();
            try (RawHttpClient client = RawHttpClient.connect(relay.port())) {
                client.send(GET);
                assertThat(client.readRaw(Duration.ofMillis(300))).isEmpty();
                assertThat(client.closeKind()).isNull();
                assertThat(backend.connectionsAccepted()).isZero();
                assertThat(backend.bytesReceived()).isZero();
            }
            relay.heal();
            try (RawHttpClient client = RawHttpClient.connect(relay.port())) {
                client.send(GET);
                assertThat(client.readResponse(WAIT).status()).isEqualTo(200);
            }
        }
    }

    @Test
    void halfCloseIsRelayedAsHalfClose() throws Exception {
        try (TcpTestServer target = TcpTestServer.start();
             FaultRelay relay = FaultRelay.start(target.address());
             RawHttpClient client = RawHttpClient.connect(relay.port())) {
            Socket upstream = target.accept(WAIT);
            client.send("ping");
            client.shutdownOutput();

            assertThat(TcpTestServer.readExactly(upstream, 4, WAIT)).asString().isEqualTo("ping");
            assertThat(upstream.getInputStream().read()).isEqualTo(-1);
            upstream.getOutputStream().write("pong".getBytes(StandardCharsets.US_ASCII));
            upstream.shutdownOutput();

            assertThat(client.readRawString(WAIT)).isEqualTo("pong");
            assertThat(client.closeKind()).isEqualTo(RawHttpClient.CloseKind.FIN);
            relay.awaitOpenConnections(0, WAIT);
        }
    }

    @Test
    void resetFromTheTargetIsRelayedAsReset() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.resetConnection());
             FaultRelay relay = FaultRelay.start(backend.address());
             RawHttpClient client = RawHttpClient.connect(relay.port())) {
            client.send(GET);

            assertThat(client.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
            assertThat(relay.resets()).isEqualTo(1);
        }
    }

    @Test
    void unreachableTargetClosesTheAcceptedConnection() throws Exception {
        java.net.InetSocketAddress dead;
        try (TcpTestServer gone = TcpTestServer.start()) {
            dead = gone.address();
        }
        try (FaultRelay relay = FaultRelay.start(dead);
             RawHttpClient client = RawHttpClient.connect(relay.port())) {
            assertThat(client.awaitClosed(WAIT)).isNotNull();
            assertThat(relay.connectionsAccepted()).isEqualTo(1);
        }
    }

    @Test
    void resetAllConnectionsResetsEveryOpenConnection() {
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             FaultRelay relay = FaultRelay.start(backend.address());
             RawHttpClient a = RawHttpClient.connect(relay.port());
             RawHttpClient b = RawHttpClient.connect(relay.port())) {
            relay.awaitOpenConnections(2, WAIT);

            relay.resetAllConnections();

            assertThat(a.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
            assertThat(b.awaitClosed(WAIT)).isEqualTo(RawHttpClient.CloseKind.RESET);
        }
    }

    @Test
    void closingTheRelayWithDelayedBytesInFlightClosesBothSides() {
        // The queued buffer must be released too: PARANOID leak detection reports it otherwise.
        try (TestBackend backend = TestBackend.start(BackendHandlers.status(200));
             RawHttpClient client = connectThroughClosedRelay(backend)) {
            assertThat(client.awaitClosed(WAIT)).isNotNull();
            Await.until(WAIT, () -> backend.openConnections() == 0, "backend side closed");
            assertThat(backend.bytesReceived()).isZero();
        }
    }

    private static RawHttpClient connectThroughClosedRelay(TestBackend backend) {
        try (FaultRelay relay = FaultRelay.start(backend.address())) {
            RawHttpClient client = RawHttpClient.connect(relay.port());
            relay.awaitOpenConnections(1, WAIT);
            Await.until(WAIT, () -> backend.connectionsAccepted() == 1, "relay connected to the backend");
            relay.delay(Duration.ofSeconds(30));
            client.send(GET);
            Await.until(WAIT, () -> relay.bytesUpstream() == GET.length(), "bytes queued in the relay");
            return client;
        }
    }
}
