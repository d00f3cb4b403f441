package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.Await;
import dev.sluice.testing.BackendHandlers;
import dev.sluice.testing.RawHttpClient;
import dev.sluice.testing.RawResponse;
import dev.sluice.testing.TestBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Slowloris: many clients that send their request heads one byte at a time hold connections
 * open to starve a server of them. Sluice answers each 408 {@code request_header_timeout} and
 * closes it once its header timeout has passed since its first byte, and serves a normal client
 * promptly all the while; with more of them than {@code max_connections}, a newcomer takes the
 * place of the one that has waited longest, so the normal client is served on every new
 * connection. (bench/slowloris runs 10,000 of them against {@code sluice run}.)
 */
class SlowClientsTest {
    private static final int SLOW_CLIENTS = 2_000;
    private static final long HEADER_TIMEOUT_MS = 1_000;
    /** Between two bytes of one slow client: its head (60 bytes) would take 30 s. */
    private static final long BYTE_INTERVAL_MS = 500;
    /** Connections (and so first bytes) are spread over this, so the timeouts run out over a second, not in one tick. */
    private static final long STAGGER_MS = 1_000;
    private static final byte[] HEAD = "GET /slow HTTP/1.1\r\nHost: test\r\nUser-Agent: slowloris/1\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII);
    private static final Duration T = Duration.ofSeconds(10);

    /** One slow client on a non-blocking socket, driven by the test's one thread. */
    private static final class SlowClient {
        final SocketChannel socket;
        long nextByteAt;
        long firstByteAt;
        long closedAt;
        int sent;
        final StringBuilder received = new StringBuilder();

        SlowClient(SocketChannel socket, long connectedAt) {
            this.socket = socket;
            this.nextByteAt = connectedAt;
        }

        boolean open() {
            return closedAt == 0;
        }

        void closed(long now) {
            if (closedAt == 0) {
                closedAt = now;
            }
            try {
                socket.close();
            } catch (IOException ignored) {
                // already gone
            }
        }
    }

    /** What the normal client saw: one latency (ms) and status per request, each on a new connection. */
    private record Served(long startedAt, long latencyMs, int status) {}

    @Test
    void twoThousandClientsTricklingTheirHeadsGet408AtTheHeaderTimeoutWhileANormalClientIsServedPromptly()
            throws Exception {
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                         header_timeout: %dms
                     routes:
                       - match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [%s]
                     """.formatted(HEADER_TIMEOUT_MS, backend.authority()))) {
            // A round of 200 first, so that the JIT has compiled the paths the attack takes: what
            // is measured is Sluice serving through an attack, not a cold JVM.
            attack(gw, 200);
            AtomicBoolean attackOver = new AtomicBoolean();
            CompletableFuture<List<Served>> normal = CompletableFuture.supplyAsync(() -> normalClient(gw, attackOver));
            long attackBegins = System.nanoTime();
            List<SlowClient> slow;
            try {
                slow = attack(gw, SLOW_CLIENTS);
            } finally {
                attackOver.set(true);
            }
            long attackEnds = System.nanoTime();

            long[] held = slow.stream().mapToLong(c -> (c.closedAt - c.firstByteAt) / 1_000_000).sorted().toArray();
            String heldMs = "min %d, p50 %d, max %d ms".formatted(held[0], held[held.length / 2], held[held.length - 1]);
            for (SlowClient c : slow) {
                assertThat(c.received.toString()).startsWith("HTTP/1.1 408 ")
                        .contains("x-sluice-error: request_header_timeout");
            }
            // Never before the header timeout, and not held on long after it. The bounds leave room
            // for a shared 2-core machine, where this JVM (Sluice, 2,000 clients and the normal one)
            // may get one core, or less: at a load average of 9, the median 408 came 1.2-1.3 s late
            // (p50 2,150-2,274 ms, max 2,810-3,393 ms) with the header deadlines in the DeadlineWheel
            // and in WaitingConnections alike. bench/slowloris measures how soon.
            assertThat(held[0]).as("held from first byte to close: " + heldMs).isGreaterThanOrEqualTo(HEADER_TIMEOUT_MS);
            assertThat(held[held.length / 2]).as("held from first byte to close: " + heldMs)
                    .isLessThan(HEADER_TIMEOUT_MS + 4_000);
            assertThat(held[held.length - 1]).as("held from first byte to close: " + heldMs)
                    .isLessThan(HEADER_TIMEOUT_MS + 8_000);

            List<Served> served = normal.get(T.toSeconds(), TimeUnit.SECONDS);
            List<Served> duringAttack = served.stream()
                    .filter(s -> s.startedAt() - attackBegins >= 0 && attackEnds - s.startedAt() >= 0).toList();
            assertThat(served).extracting(Served::status).containsOnly(200);
            // At least 5 in the attack's two to three seconds, not 10: on the shared VM at a load
            // average of 5-14 a request of the normal client can wait 2 s for a core, and 6-9 were
            // seen, with the deadline wheel (before WaitingConnections) as since.
            assertThat(duringAttack).as("normal requests while the slow clients held their connections")
                    .hasSizeGreaterThanOrEqualTo(5);
            // Slow clients holding an event loop, or the places, would make most requests wait for
            // their header timeouts to free them. How fast the rest are is bench/slowloris's to
            // measure: on the shared VM a request alone can wait 2 s for a core.
            List<Long> latencies = duringAttack.stream().map(Served::latencyMs).sorted().toList();
            assertThat(latencies.get(latencies.size() / 2)).as("the normal client's latencies during the attack, ms: %s",
                    latencies).isLessThan(HEADER_TIMEOUT_MS);
            assertThat(backend.requests()).extracting(r -> r.uri()).containsOnly("/normal");
            Await.until(T, () -> gw.gateway().listenerLoads().get(0).connections() == 0, "every connection counted out");
        }
    }

    @Test
    void moreSlowClientsThanPlacesGiveTheirPlacesToNewcomersWhileANormalClientIsServedOnEveryNewConnection()
            throws Exception {
        int places = 50;
        int slowClients = 75;
        int normalRequests = 30;
        // A header timeout longer than the test: every slow client that loses its place loses it to a newcomer.
        try (TestBackend backend = TestBackend.start(BackendHandlers.echo());
             TestGateway gw = TestGateway.fromYaml("""
                     listeners:
                       - address: 127.0.0.1:0
                         max_connections: %d
                         header_timeout: 60s
                     routes:
                       - match: { path_prefix: / }
                         cluster: app
                     clusters:
                       - name: app
                         endpoints: [%s]
                     """.formatted(places, backend.authority()))) {
            List<SlowClient> slow = new ArrayList<>();
            CompletableFuture<List<Served>> normal = null;
            try (Selector selector = Selector.open()) {
                ByteBuffer readBuffer = ByteBuffer.allocate(4096);
                long deadline = System.nanoTime() + 4 * T.toNanos();
                long nextReconnect = System.nanoTime();
                int open = 0;
                // Slow clients keep 75 connections asked for, each sending a byte every 500 ms and
                // connecting again a second after it is closed; a normal client then makes 30 requests.
                while (normal == null || !normal.isDone()) {
                    long now = System.nanoTime();
                    assertThat(now - deadline).as("the normal client still not done").isNegative();
                    if (now - nextReconnect >= 0) {
                        nextReconnect = now + 1_000_000_000L;
                        for (; open < slowClients; open++) {
                            SocketChannel socket = SocketChannel.open(gw.address());
                            socket.configureBlocking(false);
                            SlowClient client = new SlowClient(socket, now);
                            socket.register(selector, SelectionKey.OP_READ, client);
                            slow.add(client);
                        }
                    }
                    for (SlowClient c : slow) {
                        if (c.open() && now - c.nextByteAt >= 0 && c.sent < HEAD.length) {
                            sendNextByte(c, now);
                        }
                    }
                    if (normal == null && gw.gateway().listenerLoads().get(0).connections() >= places) {
                        normal = CompletableFuture.supplyAsync(() -> newConnections(gw, normalRequests));
                    }
                    selector.select(10);
                    for (SelectionKey key : selector.selectedKeys()) {
                        if (read((SlowClient) key.attachment(), readBuffer)) {
                            open--;
                        }
                    }
                    selector.selectedKeys().clear();
                }
                // Every place a slow client lost was taken by a newcomer (evicted) or never given
                // (refused at accept): the listener's counts and what the clients saw must agree.
                ListenerLoad load = gw.gateway().listenerLoads().get(0);
                long until = System.nanoTime() + T.toNanos();
                while (load.evicted() + load.refused() != slow.stream().filter(c -> !c.open()).count()
                        && System.nanoTime() - until < 0) {
                    selector.select(10);
                    for (SelectionKey key : selector.selectedKeys()) {
                        read((SlowClient) key.attachment(), readBuffer);
                    }
                    selector.selectedKeys().clear();
                    load = gw.gateway().listenerLoads().get(0);
                }
                List<SlowClient> closed = slow.stream().filter(c -> !c.open()).toList();
                long answered408 = closed.stream().filter(c -> c.received.toString().startsWith("HTTP/1.1 408 ")).count();
                long silent = closed.stream().filter(c -> c.received.isEmpty()).count();
                assertThat(closed).as("slow clients closed").hasSizeGreaterThanOrEqualTo(normalRequests);
                assertThat(answered408 + silent).as("answered 408 or closed unanswered, nothing else")
                        .isEqualTo(closed.size());
                assertThat(answered408).as("slow heads answered 408 to make room").isPositive();
                assertThat(load.evicted() + load.refused()).isEqualTo(closed.size());
                assertThat(load.evicted()).isGreaterThanOrEqualTo(answered408);
                assertThat(load.connections()).isLessThanOrEqualTo(places + ConnectionLimit.MOST_OPENING_IN_PLACE);
            } finally {
                slow.forEach(c -> c.closed(System.nanoTime()));
            }
            List<Served> served = normal.get(T.toSeconds(), TimeUnit.SECONDS);
            assertThat(served).hasSize(normalRequests).extracting(Served::status).containsOnly(200);
            assertThat(backend.requests()).extracting(r -> r.uri()).containsOnly("/normal");
        }
    }

    /** {@code count} requests, each on a new connection, 50 ms apart; a connection closed unanswered is status 0. */
    private static List<Served> newConnections(TestGateway gw, int count) {
        List<Served> served = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long start = System.nanoTime();
            try (RawHttpClient c = RawHttpClient.connect(gw.address())) {
                RawResponse r = c.send("GET /normal HTTP/1.1\r\nHost: test\r\n\r\n").readResponse(T);
                served.add(new Served(start, (System.nanoTime() - start) / 1_000_000, r.status()));
            } catch (AssertionError | RuntimeException closedUnanswered) {
                served.add(new Served(start, (System.nanoTime() - start) / 1_000_000, 0));
            }
            try {
                Thread.sleep(50); // pacing, not synchronisation
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return served;
    }

    /**
     * {@code count} slow clients: connected 10% at a time over a second, each sending its head a
     * byte every {@link #BYTE_INTERVAL_MS}, until Sluice has closed every one.
     */
    private static List<SlowClient> attack(TestGateway gw, int count) throws IOException {
        List<SlowClient> slow = new ArrayList<>();
        try (Selector selector = Selector.open()) {
            long begins = System.nanoTime();
            ByteBuffer readBuffer = ByteBuffer.allocate(4096);
            long deadline = begins + (STAGGER_MS + HEADER_TIMEOUT_MS) * 1_000_000 + T.toNanos();
            long nextTick = begins;
            int open = 0;
            while (open > 0 || slow.size() < count) {
                long now = System.nanoTime();
                assertThat(now - deadline).as("%d slow clients still open", open).isNegative();
                if (now - nextTick >= 0) {
                    nextTick = now + STAGGER_MS / 10 * 1_000_000;
                    for (int i = 0; i < count / 10 && slow.size() < count; i++) {
                        SocketChannel socket = SocketChannel.open(gw.address());
                        socket.configureBlocking(false);
                        SlowClient client = new SlowClient(socket, now);
                        socket.register(selector, SelectionKey.OP_READ, client);
                        slow.add(client);
                        open++;
                    }
                    for (SlowClient c : slow) {
                        if (c.open() && now - c.nextByteAt >= 0 && c.sent < HEAD.length) {
                            sendNextByte(c, now);
                        }
                    }
                }
                selector.select(Math.max(1, (nextTick - System.nanoTime()) / 1_000_000));
                for (SelectionKey key : selector.selectedKeys()) {
                    if (read((SlowClient) key.attachment(), readBuffer)) {
                        open--;
                    }
                }
                selector.selectedKeys().clear();
            }
        } finally {
            slow.forEach(c -> c.closed(System.nanoTime()));
        }
        return slow;
    }

    private static void sendNextByte(SlowClient c, long now) {
        try {
            c.socket.write(ByteBuffer.wrap(HEAD, c.sent, 1));
            if (c.sent++ == 0) {
                c.firstByteAt = now;
            }
            c.nextByteAt = now + BYTE_INTERVAL_MS * 1_000_000;
        } catch (IOException closedUnderUs) {
            // Sluice closed it; the read sees the end.
        }
    }

    /** Reads what Sluice sent; true when that was the end of the connection. */
    private static boolean read(SlowClient c, ByteBuffer buffer) {
        int n;
        do {
            buffer.clear();
            try {
                n = c.socket.read(buffer);
            } catch (IOException reset) {
                n = -1;
            }
            if (n > 0) {
                c.received.append(new String(buffer.array(), 0, n, StandardCharsets.ISO_8859_1));
            }
        } while (n > 0);
        if (n < 0 && c.open()) {
            c.closed(System.nanoTime());
            return true;
        }
        return false;
    }

    /** A request every 50 ms, each on a new connection (so accepting is measured too), until the attack is over. */
    private static List<Served> normalClient(TestGateway gw, AtomicBoolean attackOver) {
        List<Served> served = new ArrayList<>();
        while (!attackOver.get()) {
            long start = System.nanoTime();
            try (RawHttpClient c = RawHttpClient.connect(gw.address())) {
                RawResponse r = c.send("GET /normal HTTP/1.1\r\nHost: test\r\n\r\n").readResponse(T);
                served.add(new Served(start, (System.nanoTime() - start) / 1_000_000, r.status()));
            }
            try {
                Thread.sleep(50); // pacing, not synchronisation
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return served;
    }
}
