package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.HostPort;
import dev.sluice.config.ListenerConfig;
import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A listener's {@code max_connections} and what it does to idle connections, on real sockets: at
 * the limit a new connection takes the place of the one that has waited longest for its client
 * (idle, or sending its head); when every connection has a request in flight it is closed before
 * it is read and counted, while the open ones keep being served; above 80% of the limit idle
 * connections are closed sooner, making room for active ones; without pressure they keep the
 * configured idle timeout.
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
    void pastMaxConnectionsWithEveryRequestInFlightANewConnectionIsClosedUnreadAndCountedWhileTheOpenOnesAreServed()
            throws Exception {
        // Requests to /held wait here until the test answers them; the others are echoed.
        List<dev.sluice.testing.BackendExchange> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        dev.sluice.testing.BackendHandler echo = BackendHandlers.echo();
        dev.sluice.testing.BackendHandler holding = ex -> {
            if (ex.path().startsWith("/held")) {
                held.add(ex);
            } else {
                echo.onRequest(ex);
            }
        };
        try (TestBackend backend = TestBackend.start(holding);
             TestGateway gw = TestGateway.fromYaml(yaml(backend, "max_connections: 3"))) {
            List<RawHttpClient> open = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    open.add(RawHttpClient.connect(gw.address()).send(get("/held-" + i)));
                }
                Await.until(T, () -> held.size() == 3, "three requests in flight");
                // No connection waits for its client, so none can give its place: the fourth is refused.
                try (RawHttpClient fourth = RawHttpClient.connect(gw.address())) {
                    fourth.send(get("/refused"));
                    assertThat(fourth.readRaw(T)).as("no response, only the close").isEmpty();
                    assertThat(fourth.closeKind()).isNotNull();
                }
                held.forEach(ex -> ex.respond(200, "held"));
                for (RawHttpClient c : open) {
                    assertThat(c.readResponse(T).status()).isEqualTo(200);
                    assertThat(c.send(get("/again")).readResponse(T).status()).isEqualTo(200);
                }
                assertThat(backend.requests()).extracting(r -> r.uri()).doesNotContain("/refused");
                assertThat(load(gw).refused()).isEqualTo(1);
                assertThat(load(gw).evicted()).isZero();
                assertThat(load(gw).connections()).isEqualTo(3);
                assertThat(gw.gateway().metrics().scrape()).contains(
                        "sluice_listener_connections_refused_total{listener=\"edge\"} 1.0",
                        "sluice_listener_connections_evicted_total{listener=\"edge\"} 0.0",
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
    void atMaxConnectionsANewConnectionTakesThePlaceOfTheOneThatHasWaitedLongestAndBusyOnesAreNotTouched()
            throws Exception {
        List<dev.sluice.testing.BackendExchange> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        dev.sluice.testing.BackendHandler echo = BackendHandlers.echo();
        dev.sluice.testing.BackendHandler holding = ex -> {
            if (ex.path().startsWith("/held")) {
                held.add(ex);
            } else {
                echo.onRequest(ex);
            }
        };
        // One event loop, so that its connections are all the ones waiting: which one has waited
        // longest is then exact, not the longest of the loop with the most waiting.
        try (TestBackend backend = TestBackend.start(holding);
             TestGateway gw = TestGateway.fromYaml("server:\n  event_loop_threads: 1\n"
                     + yaml(backend, "max_connections: 4"));
             RawHttpClient busy = RawHttpClient.connect(gw.address()).send(get("/held"));
             RawHttpClient idle = served(gw, "/then-idle");
             RawHttpClient slowHead = RawHttpClient.connect(gw.address()).send("GET /slow HTTP/1.1\r\nHo");
             RawHttpClient silent = RawHttpClient.connect(gw.address())) {
            Await.until(T, () -> held.size() == 1, "the busy request in flight");
            Await.until(T, () -> load(gw).connections() == 4, "the listener full");
            // Longest waiting first: the idle connection (since its response), the slow head, the silent one.
            try (RawHttpClient first = served(gw, "/first-newcomer")) {
                assertThat(idle.awaitClosed(T)).isNotNull();
                assertThat(load(gw).evicted()).isEqualTo(1);
                try (RawHttpClient second = served(gw, "/second-newcomer");
                     RawHttpClient third = served(gw, "/third-newcomer")) {
                    // A head closed for room is answered as its header timeout would have been.
                    RawResponse answer = slowHead.readResponse(T);
                    assertThat(answer.status()).isEqualTo(408);
                    assertThat(answer.header("x-sluice-error")).isEqualTo("request_header_timeout");
                    assertThat(slowHead.awaitClosed(T)).isNotNull();
                    assertThat(silent.readRaw(T)).as("closed without a response: it never sent a request").isEmpty();
                    assertThat(silent.closeKind()).isNotNull();
                    assertThat(load(gw).evicted()).isEqualTo(3);
                    assertThat(first.send(get("/first-again")).readResponse(T).status()).isEqualTo(200);
                }
            }
            // The request in flight was never a candidate.
            held.forEach(ex -> ex.respond(200, "held"));
            assertThat(busy.readResponse(T).status()).isEqualTo(200);
            assertThat(load(gw).refused()).isZero();
            assertThat(gw.gateway().metrics().scrape())
                    .contains("sluice_listener_connections_evicted_total{listener=\"edge\"} 3.0");
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
