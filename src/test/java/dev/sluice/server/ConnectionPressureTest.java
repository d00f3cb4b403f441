package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.HostPort;
import dev.sluice.config.ListenerConfig;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A listener's {@code max_connections} and what it does to idle connections, on real sockets: past
 * the limit a new connection is closed before it is read and counted, while the open ones keep
 * being served; above 80% of the limit idle connections are closed sooner, making room for
 * active ones; without pressure they keep the configured idle timeout.
 */
class ConnectionPressureTest {
    private static final Duration T = Duration.ofSeconds(10);

    private static String yaml(TestBackend backend, String listenerKeys) {
        return """
                listeners:
                  - name: edge
                    address: 127.0.0.1:0
                %s
                routes:
                  - match: { path_prefix: / }
                    cluster: app
                clusters:
                  - name: app
                    endpoints: [%s]
                """.formatted(listenerKeys.indent(4).stripTrailing(), backend.authority());
    }

    private static RawHttpClient served(TestGateway gw, String path) {
        RawHttpClient c = RawHttpClient.connect(gw.address());
        assertThat(c.send(get(path)).readResponse(T).status()).isEqualTo(200);
        return c;
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    }

    private static ListenerLoad load(TestGateway gw) {
        return gw.gateway().listenerLoads().get(0);
    }

    private static long ms(long sinceNanos) {
        return (System.nanoTime() - sinceNanos) / 1_000_000;
    }

    @Test
    void pastMaxConnectionsANewConnectionIsClosedUnreadAndCountedWhileTheOpenOnesKeepBeingServed() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(yaml(backend, "max_connections: 3"))) {
            List<RawHttpClient> open = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    open.add(served(gw, "/open-" + i));
                }
                try (RawHttpClient fourth = RawHttpClient.connect(gw.address())) {
                    fourth.send(get("/refused"));
                    assertThat(fourth.readRaw(T)).as("no response, only the close").isEmpty();
                    assertThat(fourth.closeKind()).isNotNull();
                }
                for (RawHttpClient c : open) {
                    assertThat(c.send(get("/again")).readResponse(T).status()).isEqualTo(200);
                }
                assertThat(backend.requests()).extracting(r -> r.uri()).doesNotContain("/refused");
                assertThat(load(gw).refused()).isEqualTo(1);
                assertThat(load(gw).connections()).isEqualTo(3);
                assertThat(gw.gateway().metrics().scrape()).contains(
                        "sluice_listener_connections_refused_total{listener=\"edge\"} 1.0",
                        "sluice_listener_connections{listener=\"edge\"} 3.0",
                        "sluice_listener_connections_max{listener=\"edge\"} 3.0");

                // A closed connection makes room, and the count follows every close.
                open.remove(0).close();
                Await.until(T, () -> load(gw).connections() == 2, "the closed connection counted out");
                open.add(served(gw, "/after-room"));
                open.forEach(RawHttpClient::close);
                Await.until(T, () -> load(gw).connections() == 0, "every connection counted out");
            } finally {
                open.forEach(RawHttpClient::close);
            }
        }
    }

    @Test
    void idleConnectionsCloseSoonerUnderPressureAndKeepTheConfiguredTimeoutWithout() throws Exception {
        // Pressure above 16 of 20 connections; at 19 the idle timeout is 300ms instead of 4s.
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(yaml(backend,
                     "max_connections: 20\nidle_timeout: 4s\nidle_timeout_under_pressure: 300ms"))) {
            List<RawHttpClient> clients = new ArrayList<>();
            try {
                List<RawHttpClient> early = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    early.add(served(gw, "/early-" + i));
                }
                clients.addAll(early);
                // Half full: a second idle is more than three times the short timeout, and none closes.
                assertThat(early.get(0).readRaw(Duration.ofSeconds(1))).isEmpty();
                assertThat(early).noneMatch(ConnectionPressureTest::closedYet);

                for (int i = 0; i < 7; i++) {
                    clients.add(served(gw, "/late-" + i));
                }
                clients.add(RawHttpClient.connect(gw.address())); // connected, never sends a byte
                try (RawHttpClient active = served(gw, "/active-0")) {
                    long pressureBegan = System.nanoTime(); // 19 of 20
                    // The active client keeps sending, 50ms between requests, until the early ones are gone.
                    int sent = 1;
                    while (!early.stream().allMatch(ConnectionPressureTest::closedYet) && ms(pressureBegan) < T.toMillis()) {
                        assertThat(active.send(get("/active-" + sent++)).readResponse(T).status()).isEqualTo(200);
                        Thread.sleep(50);
                    }
                    long earlyClosedAfter = ms(pressureBegan);
                    // Idle 1s when the pressure came, they would have had 3s more without it.
                    assertThat(earlyClosedAfter).as("the ten early idle connections closed %d ms into the pressure",
                            earlyClosedAfter).isLessThan(2_000);
                    for (RawHttpClient c : early) {
                        assertThat(c.awaitClosed(T)).isEqualTo(RawHttpClient.CloseKind.FIN);
                    }
                    // Room was made: the listener is back below 80%, and the active client is still served.
                    assertThat(load(gw).connections()).isLessThanOrEqualTo(16);
                    assertThat(load(gw).idleTimeout()).isEqualTo(Duration.ofSeconds(4));
                    assertThat(active.send(get("/still-served")).readResponse(T).status()).isEqualTo(200);
                    assertThat(active.closeKind()).isNull();
                }

                // Without pressure, new idle connections get the whole 4s.
                List<RawHttpClient> after = new ArrayList<>();
                long requested = System.nanoTime();
                for (int i = 0; i < 5; i++) {
                    after.add(served(gw, "/after-" + i));
                }
                clients.addAll(after);
                assertThat(after.get(0).readRaw(Duration.ofMillis(2_500))).isEmpty();
                assertThat(after).noneMatch(ConnectionPressureTest::closedYet);
                assertThat(after.get(0).awaitClosed(T)).isEqualTo(RawHttpClient.CloseKind.FIN);
                assertThat(ms(requested)).isGreaterThanOrEqualTo(4_000);
            } finally {
                clients.forEach(RawHttpClient::close);
            }
        }
    }

    /** Whether the peer has closed it, looking for at most a millisecond. */
    private static boolean closedYet(RawHttpClient c) {
        c.readRaw(Duration.ofMillis(1));
        return c.closeKind() != null;
    }

    @Test
    void anAutoLimitIsAShareOfTheOpenFilesLimitAndAnAddedListenerTakesItsShare() throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml(yaml(backend, ""))) {
            long openFiles = ConnectionLimit.openFilesLimit();
            assertThat(load(gw).maxConnectionsAuto()).isTrue();
            assertThat(load(gw).maxConnections()).isEqualTo(ConnectionLimit.autoLimit(openFiles, 1));

            ListenerConfig first = gw.gateway().snapshot().config().listeners().get(0);
            ListenerConfig second = ListenerConfig.of(new HostPort("127.0.0.1", 0));
            ListenerConfig fixed = new ListenerConfig("fixed", new HostPort("127.0.0.1", 0), first.idleTimeout(),
                    first.headerTimeout(), first.maxRequestLine(), first.maxHeaderSize(), first.maxHeaders(),
                    List.of(), first.bodyTimeout(), java.util.OptionalInt.of(7), first.idleTimeoutUnderPressure());
            gw.gateway().reconcileListeners(List.of(first, second, fixed));

            assertThat(gw.gateway().listenerLoads()).extracting(ListenerLoad::maxConnections).containsExactly(
                    ConnectionLimit.autoLimit(openFiles, 3), ConnectionLimit.autoLimit(openFiles, 3), 7);
            // The listener that stayed kept its socket and its connections.
            try (RawHttpClient c = served(gw, "/first")) {
                assertThat(load(gw).connections()).isEqualTo(1);
            }
        }
    }
}
